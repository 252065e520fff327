"""What the file outputs of a batch job find at their prefixes, checked at launch.

Beam's file sink deletes everything matching PREFIX-*-of-NNNNN.jsonl before it
writes, whoever wrote it, and stages shards in PREFIX_DIR/beam-temp-NAME-UUID/.
So a launch refuses a prefix that already holds shards or a staging folder, or
that cannot be written; a local run that stops removes its own staging folders.
"""

from __future__ import annotations

import os
import uuid

from trt_text_classifier import model_files
from trt_text_classifier.errors import ParameterError, one_line
from trt_text_classifier.io.output_naming import OUTPUT_SUFFIX
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

    Their files carry the window in their names and nothing deletes old ones,
    so the launch checks only that they can be written.
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
    """The output prefix holds no shards or staging folders yet, and can be written.

    Beam's file sink deletes PREFIX-*-of-NNNNN.jsonl before it writes, whatever
    wrote those files; refusing any existing shard keeps an earlier run's (or
    anyone's) files, and makes the printed result globs match this run's files only.
    """
    pattern = prefix + "-*-of-*" + OUTPUT_SUFFIX
    existing = list_files(name, prefix, pattern)
    if existing:
        raise ParameterError(
            f"--{name}={prefix!r}: {pattern} already matches {count(len(existing), 'file')} "
            f"({name_some(existing)}) and the run would delete them; choose another prefix or "
            "delete those files first"
        )
    leftovers = temp_directories(prefix)
    if leftovers:
        raise ParameterError(
            f"--{name}={prefix!r}: an interrupted run to this prefix left "
            f"{count(len(leftovers), 'staging folder')} ({name_some(leftovers)}); delete them "
            "(if no other job is writing here) and run again"
        )
    check_writable(name, prefix)


NAMED_AT_MOST = 5
"""How many conflicting paths a refusal names before it counts the rest."""


def count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def name_some(paths: list[str]) -> str:
    """The paths, all of them when few, else the first ones and how many more."""
    named = ", ".join(paths[:NAMED_AT_MOST])
    rest = len(paths) - NAMED_AT_MOST
    return f"{named} and {rest} more" if rest > 0 else named


def temp_directories(prefix: str) -> list[str]:
    """Beam's file sink stages each output in PREFIX_DIR/beam-temp-PREFIX_NAME-UUID/."""
    from apache_beam.io.filesystems import FileSystems

    directory, name = FileSystems.split(prefix)
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
    """Delete the staging folders of this run's outputs (launch refused any older ones)."""
    from apache_beam.io.filesystems import FileSystems

    removed = []
    for prefix in output_prefixes(params).values():
        for directory in temp_directories(prefix):
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
