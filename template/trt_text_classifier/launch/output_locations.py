"""The file outputs of a job: checked at launch, claimed for the run, cleaned when it stops.

A run writes PREFIX-RUNID-SSSSS-of-NNNNN.jsonl and stages in DIR/beam-temp-NAME-RUNID-UUID/
(`io.output_naming`), so Beam's delete at finalize and a stopped run's cleanup only ever
match this run's files. On top of that, a batch run holds PREFIX.run-claim, created only if
absent (O_EXCL locally, if_generation_match=0 on gs://), for each prefix it writes: a second
run to the same or an overlapping prefix is refused at launch with one line naming the run
that holds it. A run that waits for its end releases its claims; a submitted job's claim
stays (its file says which job) until someone deletes it.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from dataclasses import dataclass
from typing import Any

from trt_text_classifier import model_files
from trt_text_classifier.errors import ParameterError, one_line
from trt_text_classifier.io.output_naming import (
    CLAIM_SUFFIX,
    normalized_prefix,
    prefixes_overlap,
    run_prefix,
)
from trt_text_classifier.launch.parameters import PipelineParameters


def output_prefixes(params: PipelineParameters) -> dict[str, str]:
    """The file outputs of a batch job, by parameter name."""
    if params.streaming:
        return {}
    prefixes = {"dead_letter_output": params.resolved_dead_letter_output}
    if params.output:
        prefixes = {"output": params.output, **prefixes}
    return prefixes


def streaming_output_prefixes(params: PipelineParameters) -> dict[str, str]:
    """The windowed file outputs of a streaming job, by parameter name.

    Their files carry the run and the window in their names and nothing deletes old
    ones, so the launch checks only that they can be written.
    """
    if not params.streaming:
        return {}
    prefixes = {}
    if params.output:
        prefixes["output"] = params.output
    if params.dead_letter_output or not params.dead_letter_topic:
        prefixes["dead_letter_output"] = params.resolved_dead_letter_output
    return prefixes


def check_output_location(name: str, prefix: str) -> None:
    """The output prefix can be written (older files there are harmless: names carry the run)."""
    check_writable(name, prefix)


@dataclass(frozen=True)
class Claim:
    """A run's hold on one output prefix: the object PREFIX.run-claim that it created."""

    name: str
    prefix: str
    path: str


def claim_path(prefix: str) -> str:
    return prefix + CLAIM_SUFFIX


def claim_outputs(params: PipelineParameters, job: str = "") -> list[Claim]:
    """Claim every batch output prefix for this run, or refuse (releasing what was taken)."""
    claims: list[Claim] = []
    try:
        for name, prefix in output_prefixes(params).items():
            claims.append(claim_output(name, prefix, params.run_id, job))
    except BaseException:
        release_claims(claims)
        raise
    return claims


def claim_output(name: str, prefix: str, run_id: str, job: str = "") -> Claim:
    """Create PREFIX.run-claim only if absent, then make sure no overlapping claim exists."""
    refuse_overlapping_claims(name, prefix, run_id)
    path = claim_path(prefix)
    text = json.dumps(
        {
            "run_id": run_id,
            "prefix": normalized_prefix(prefix),
            "job": job,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
    )
    if not create_only(path, text):
        raise ParameterError(
            f"--{name}={prefix!r}: run {holder_of(path)} holds this prefix ({path}); wait for "
            "it to end, or delete that file if it is over"
        )
    claim = Claim(name, prefix, path)
    try:  # two overlapping runs that listed at once: both see the other now, both refuse
        refuse_overlapping_claims(name, prefix, run_id)
    except BaseException:
        release_claims([claim])
        raise
    return claim


def refuse_overlapping_claims(name: str, prefix: str, run_id: str) -> None:
    from apache_beam.io.filesystems import FileSystems

    directory, _ = FileSystems.split(prefix)
    pattern = FileSystems.join(directory or ".", "*" + CLAIM_SUFFIX)
    for path in list_files(name, prefix, pattern):
        other = path[: -len(CLAIM_SUFFIX)]
        if prefixes_overlap(prefix, other) and claim_data(path).get("run_id") != run_id:
            raise ParameterError(
                f"--{name}={prefix!r}: overlaps {other!r}, which run {holder_of(path)} holds "
                f"({path}); "
                "wait for it to end, or delete that file if it is over"
            )


def claim_data(path: str) -> dict[str, Any]:
    """What a claim file says (empty when it cannot be read)."""
    from apache_beam.io.filesystems import FileSystems

    try:
        with FileSystems.open(path) as handle:
            data = json.loads(handle.read().decode("utf-8"))
    except Exception:
        return {}
    return data if isinstance(data, dict) else {}


def holder_of(path: str) -> str:
    """The run that holds a claim, as the refusal names it."""
    data = claim_data(path)
    if "run_id" not in data:
        return "(unreadable claim)"
    job = f", job {data['job']}" if data.get("job") else ""
    return f"{data['run_id']} (started {data.get('started', '?')} on {data.get('host', '?')}{job})"


def create_only(path: str, text: str) -> bool:
    """Create `path` holding `text` unless it exists; False when it does (atomic on both)."""
    if model_files.is_local(path):
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        try:
            descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        return True
    if not path.startswith("gs://"):
        raise ParameterError(f"{path}: outputs are local paths or gs:// prefixes")
    from google.api_core.exceptions import PreconditionFailed
    from google.cloud import storage

    bucket, _, name = path[len("gs://") :].partition("/")
    client = storage.Client(project=os.environ.get("GOOGLE_CLOUD_PROJECT") or None)
    try:
        client.bucket(bucket).blob(name).upload_from_string(text, if_generation_match=0)
    except PreconditionFailed:
        return False
    return True


def release_claims(claims: list[Claim]) -> None:
    """Delete this run's claim objects (never anyone else's: these are the ones it created)."""
    from apache_beam.io.filesystems import FileSystems

    for claim in claims:
        try:
            FileSystems.delete([claim.path])
        except Exception:
            continue


def temp_directories(prefix: str, run_id: str) -> list[str]:
    """Beam stages run `run_id`'s shards in PREFIX_DIR/beam-temp-NAME-RUNID-UUID/."""
    from apache_beam.io.filesystems import FileSystems

    directory, name = FileSystems.split(run_prefix(prefix, run_id))
    start = f"beam-temp-{name}-"
    if model_files.is_local(prefix):  # Beam's local match lists files only, never folders
        names = os.listdir(directory or ".") if os.path.isdir(directory or ".") else []
        return sorted(os.path.join(directory, item) for item in names if item.startswith(start))
    try:
        matched = FileSystems.match([FileSystems.join(directory, start + "*")])[0].metadata_list
    except Exception:
        return []
    found = {FileSystems.join(directory, temp_directory_name(m.path, directory)) for m in matched}
    return sorted(found)


def temp_directory_name(path: str, directory: str) -> str:
    """The first path component below `directory` (a match may be a file inside the folder)."""
    return path[len(directory) :].lstrip("/").split("/", 1)[0]


def remove_temp_directories(params: PipelineParameters) -> list[str]:
    """Delete this run's staging folders (their names carry its run id: only its own)."""
    from apache_beam.io.filesystems import FileSystems

    removed = []
    for prefix in output_prefixes(params).values():
        for directory in temp_directories(prefix, params.run_id):
            try:
                FileSystems.delete([directory])
            except Exception:
                continue
            removed.append(directory)
    return removed


def list_files(name: str, prefix: str, pattern: str) -> list[str]:
    from apache_beam.io.filesystems import FileSystems

    try:
        matched = FileSystems.match([pattern])[0].metadata_list
    except Exception as error:
        raise ParameterError(f"--{name}={prefix!r}: cannot list files: {one_line(error)}") from None
    return sorted(match.path for match in matched)


def check_writable(name: str, prefix: str) -> None:
    """The outputs can be written: nothing is created here for a local prefix.

    Locally the nearest existing ancestor must be a directory this user may
    write into; elsewhere (gs://) a small probe object is written and deleted.
    """
    if model_files.is_local(prefix):
        blocker = local_write_blocker(os.path.dirname(os.path.abspath(prefix)))
        if blocker:
            raise ParameterError(
                f"--{name}={prefix!r}: cannot be written ({blocker}); choose a location this "
                "job may write to"
            )
        return
    from apache_beam.io.filesystems import FileSystems

    probe = f"{prefix}-write-check-{uuid.uuid4().hex}.tmp"
    try:
        with FileSystems.create(probe) as handle:
            handle.write(b"")
        FileSystems.delete([probe])
    except Exception as error:
        raise ParameterError(
            f"--{name}={prefix!r}: cannot be written ({one_line(error)}); choose a location "
            "this job may write to"
        ) from None


def local_write_blocker(directory: str) -> str | None:
    """Why files cannot be created in `directory` (made as needed), or None when they can."""
    ancestor = directory
    while not os.path.exists(ancestor):
        ancestor = os.path.dirname(ancestor)
    if not os.path.isdir(ancestor):
        return f"{ancestor} is a file, not a directory"
    if not os.access(ancestor, os.W_OK | os.X_OK):
        return f"{ancestor} is not writable by this user"
    return None
