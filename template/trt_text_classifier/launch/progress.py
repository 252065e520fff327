"""A local run's progress on the terminal, and the figures of its final summary.

The run adds `io.progress.AppendProgress` to both outputs (predictions and dead letters);
a thread of the launching process reads the progress file while the job runs and shows
records done (out of the total when the input can be counted cheaply), the rate and the
time left: one updated line on a terminal, a plain line every
`TRT_TEXT_CLASSIFIER_PROGRESS_SECS` seconds (default 10) otherwise.
"""

from __future__ import annotations

import glob
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import apache_beam as beam

from trt_text_classifier.io.progress import AppendProgress, read_progress
from trt_text_classifier.launch.parameters import PipelineParameters

INTERVAL_VARIABLE = "TRT_TEXT_CLASSIFIER_PROGRESS_SECS"
DEFAULT_INTERVAL_SECS = 10.0
TERMINAL_REFRESH_SECS = 0.5
QUIET_START_SECS = 3.0
"""A terminal shows nothing for the first seconds: short runs stay as they were."""
COMPRESSED_SUFFIXES = (".gz", ".bz2", ".zst", ".zstd", ".deflate")


def countable_files(params: PipelineParameters | None) -> list[str] | None:
    """The local, uncompressed input files, or None when the input cannot be counted cheaply."""
    pattern = params.input if params else None
    if not pattern or "://" in pattern:
        return None
    files = sorted(path for path in glob.glob(pattern) if os.path.isfile(path))
    if not files or any(path.endswith(COMPRESSED_SUFFIXES) for path in files):
        return None
    return files


def count_records(files: list[str]) -> int:
    """Non-blank lines (each is one record: a prediction or a dead letter)."""
    total = 0
    for path in files:
        with open(path, "rb") as file:
            total += sum(1 for line in file if line.strip())
    return total


def seconds(value: float) -> str:
    value = round(value)
    if value < 60:
        return f"{value} s"
    minutes, rest = divmod(value, 60)
    return (
        f"{minutes} min {rest:02d} s"
        if minutes < 60
        else f"{minutes // 60} h {minutes % 60:02d} min"
    )


@dataclass
class Progress:
    """One local run's progress file and the thread that shows it."""

    params: PipelineParameters | None = None
    """Set by `run_pipeline` once the parameters are parsed (None: no local run)."""
    stream: TextIO = field(default_factory=lambda: sys.stderr)
    folder: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="trt-progress-"))
    started: float = field(default_factory=time.monotonic)
    total: int | None = None
    first_done_at: float | None = None
    finished_at: float | None = None

    @property
    def path(self) -> str:
        return str(Path(self.folder) / "progress.jsonl")

    def attach(self, *outputs: beam.PCollection) -> None:
        """Count every element of `outputs` (the graph's predictions and dead letters)."""
        for index, output in enumerate(outputs):
            _ = output | f"LocalProgress{index}" >> beam.ParDo(AppendProgress(self.path))

    def line(self, now: float) -> str:
        done, _ = read_progress(self.path)
        if done and self.first_done_at is None:
            self.first_done_at = now
        parts = [f"{done:,} / {self.total:,} records" if self.total else f"{done:,} records"]
        if self.total:
            parts[0] += f" ({min(done / self.total, 1):.0%})"
        running = now - (self.first_done_at or now)
        if done and running > 0:
            rate = done / running
            parts.append(f"{rate:,.0f} records/s")
            if self.total and done < self.total:
                parts.append(f"about {seconds((self.total - done) / rate)} left")
        parts.append(f"{seconds(now - self.started)} elapsed")
        return "progress: " + ", ".join(parts)

    @contextmanager
    def shown(self) -> Iterator[None]:
        """Show the progress while the body (waiting for the job) runs."""
        stop = threading.Event()
        thread = threading.Thread(target=self._show, args=(stop,), daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
            self.finished_at = time.monotonic()

    def _show(self, stop: threading.Event) -> None:
        files = countable_files(self.params)
        self.total = count_records(files) if files else None
        terminal = self.stream.isatty()
        interval = TERMINAL_REFRESH_SECS if terminal else interval_secs()
        shown = False
        next_at = self.started + (QUIET_START_SECS if terminal else interval)
        while not stop.wait(max(0.0, min(next_at - time.monotonic(), TERMINAL_REFRESH_SECS))):
            now = time.monotonic()
            if now < next_at:
                continue
            if terminal:
                self.stream.write("\r" + self.line(now) + "\x1b[K")
            else:
                self.stream.write(self.line(now) + "\n")
            self.stream.flush()
            shown = True
            next_at = now + interval
        if terminal and shown:
            self.stream.write("\n")
            self.stream.flush()

    def summary(self) -> str:
        """Elapsed time, records per second and predictions per label, for the final summary."""
        done, labels = read_progress(self.path)
        elapsed = (self.finished_at or time.monotonic()) - self.started
        per_label = ", ".join(f"{label} {count:,}" for label, count in sorted(labels.items()))
        return "\n".join(
            [
                f"elapsed: {seconds(elapsed) if elapsed >= 60 else f'{elapsed:.1f} s'}; "
                f"{done / elapsed if elapsed > 0 else 0:,.1f} sentences/s "
                f"({done:,} records, start-up included)",
                f"predictions per label: {per_label or 'none'}",
            ]
        )

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def interval_secs() -> float:
    value = os.environ.get(INTERVAL_VARIABLE, "")
    try:
        return max(0.1, float(value)) if value else DEFAULT_INTERVAL_SECS
    except ValueError:
        return DEFAULT_INTERVAL_SECS
