"""`trt-text-classifier export --model SRC --output DIR`: Hugging Face model -> ONNX bundle."""

from __future__ import annotations

import argparse
import math
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence

from trt_text_classifier.commands.errors import report_errors
from trt_text_classifier.commands.output_files import (
    BUNDLE_FILES,
    OVERWRITE_HELP,
    check_output_directory,
)

HELP = "export a Hugging Face classifier (hub id or local directory) to an ONNX bundle"


def main(argv: Sequence[str]) -> int:
    return report_errors(lambda: _main(argv))


def _main(argv: Sequence[str]) -> int:
    """Imports torch (through engine.export) first: without it, one line names the extra."""
    from trt_text_classifier.model_tooling.export import DEFAULT_TOLERANCE

    parser = argparse.ArgumentParser(prog="trt-text-classifier export", description=HELP)
    parser.add_argument(
        "--model",
        required=True,
        help="Hugging Face model id (e.g. textattack/bert-base-uncased-SST-2) or a local "
        "save_pretrained directory",
    )
    parser.add_argument("--output", required=True, help="directory to write the bundle into")
    parser.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)
    parser.add_argument(
        "--tolerance",
        type=float,
        default=DEFAULT_TOLERANCE,
        help="largest allowed logit error relative to the largest logit (default %(default)s)",
    )
    args = parser.parse_args(argv)
    if not math.isfinite(args.tolerance) or args.tolerance <= 0:
        print(
            f"error: --tolerance={args.tolerance}: must be a positive number, e.g. "
            f"{DEFAULT_TOLERANCE}",
            file=sys.stderr,
        )
        return 2
    return _export(args)


def looks_like_a_path(model: str) -> bool:
    """Hub ids are NAME or ORG/NAME; anything else names a local directory."""
    return model.startswith(("/", ".", "~")) or model.count("/") > 1


HUB_PROBE_TIMEOUT_SECS = 3.0
"""One request this long decides whether the Hub is reachable (its own retries take ~50 s)."""


def hub_unreachable() -> str | None:
    """Why the Hugging Face Hub cannot be reached (one quick request), or None when it can.

    HF_HUB_OFFLINE=1 counts as unreachable without a request. Any HTTP answer,
    even an error status, means the network works; proxies set in the
    environment are honoured.
    """
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        return "HF_HUB_OFFLINE is set"
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
    try:
        with urllib.request.urlopen(
            endpoint + "/api/models?limit=1", timeout=HUB_PROBE_TIMEOUT_SECS
        ):
            return None
    except urllib.error.HTTPError:
        return None
    except (OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        return f"{endpoint}: {reason}"


def _export(args: argparse.Namespace) -> int:
    from trt_text_classifier.model_tooling.export import ExportError, export_bundle

    if looks_like_a_path(args.model) and not os.path.isdir(os.path.expanduser(args.model)):
        print(
            f"error: --model={args.model!r}: no such directory; give a local save_pretrained "
            "directory or a Hugging Face model id such as textattack/bert-base-uncased-SST-2",
            file=sys.stderr,
        )
        return 1

    inputs = {args.model: "the --model directory"} if os.path.isdir(args.model) else {}
    check_output_directory(args.output, BUNDLE_FILES, inputs, overwrite=args.overwrite)
    offline = False
    if not os.path.isdir(os.path.expanduser(args.model)):
        unreachable = hub_unreachable()
        offline = unreachable is not None
        if offline:
            print(
                f"note: the Hugging Face Hub cannot be reached ({unreachable}); "
                "looking for the model in the local cache only",
                file=sys.stderr,
            )
    try:
        report = export_bundle(
            args.model, args.output, tolerance=args.tolerance, local_files_only=offline
        )
    except (ExportError, OSError) as error:
        if offline:
            print(
                f"error: --model={args.model!r}: not in the local Hugging Face cache and the Hub "
                "cannot be reached; a local save_pretrained directory works offline "
                "(--model=path/to/dir)",
                file=sys.stderr,
            )
        else:
            print(f"error: --model={args.model!r}: {error}", file=sys.stderr)
        return 1
    print(f"wrote {os.path.join(args.output, 'model.onnx')}")
    print(report.describe())
    return 0
