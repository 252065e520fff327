"""JSON Lines files from a streaming job: one set of shards per fixed window.

A streaming job never ends, so its files cannot be written "at the end" as a
batch job's are. Each result is stamped with the time it reaches the sink
(processing time) and windowed into fixed windows of `window_secs`; when a
window closes, its records are written as

    PREFIX-RUNID-WINDOWSTART-WINDOWEND-SSSSS-of-NNNNN.jsonl

(window bounds in UTC, ISO 8601, e.g.
`predictions-20261125T180000-a1b2c3-2026-11-25T18:01:00-2026-11-25T18:02:00-00000-of-00002.jsonl`),
through a temporary directory, so a file appears whole or not at all.

Why processing time and not the messages' publish time: a window's files are
written once, when the watermark passes its end, and a record that arrived
after that (late data: a slow batch, a backlog after a restart) would be
dropped. A result stamped on arrival at the sink is never late, so every
record lands in exactly one file; the file's window says when the result was
written, the record's `id` says which input it answers.
"""

from __future__ import annotations

import posixpath
import time

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.transforms.window import FixedWindows, TimestampedValue


def stamp_now(line: str) -> TimestampedValue:
    return TimestampedValue(line, time.time())


def write_windowed_json_lines(
    pcoll: beam.PCollection,
    prefix: str,
    window_secs: int,
    label: str,
    suffix: str,
) -> None:
    """Write `pcoll` (JSON lines, see `sinks.encode_each`) under `prefix`, one set of files
    per window."""
    directory, name = posixpath.split(prefix)
    _ = (
        pcoll
        | f"{label}ArrivalTime" >> beam.Map(stamp_now)
        | f"{label}Windows" >> beam.WindowInto(FixedWindows(window_secs))
        | f"Write{label}"
        >> fileio.WriteToFiles(
            path=directory or ".",
            file_naming=fileio.default_file_naming(name, suffix),
        )
    )
