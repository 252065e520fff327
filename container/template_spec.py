"""Complete a Flex Template spec printed by gcloud with the whole metadata file.

`gcloud dataflow flex-template build` copies only the name, description and
parameters of `--metadata-file` into the spec (gcloud's
`Templates._BuildTemplateMetadata`): a streaming template's `streaming`,
`supportsAtLeastOnce`, `supportsExactlyOnce` and `defaultStreamingMode` would
be lost. cloudbuild.yaml therefore has gcloud print the spec
(`--print-only --format=json`), puts the metadata file into it unchanged with
this script, and copies the result to Cloud Storage.

Usage: python3 container/template_spec.py GCLOUD_OUTPUT METADATA_FILE > SPEC_FILE

Standard library only: it runs in Cloud Build's cloud-sdk image.
"""

from __future__ import annotations

import json
import pathlib
import sys


def complete_spec(gcloud_output: str, metadata: str) -> str:
    """The spec gcloud printed, with `metadata` replaced by the file's whole content."""
    spec = json.loads(gcloud_output)
    if isinstance(spec, str):  # `--format=json` prints the spec as one JSON string
        spec = json.loads(spec)
    spec["metadata"] = json.loads(metadata)
    return json.dumps(spec, indent=2, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    gcloud_output, metadata = (pathlib.Path(path).read_text(encoding="utf-8") for path in argv)
    sys.stdout.write(complete_spec(gcloud_output, metadata))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
