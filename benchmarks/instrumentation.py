"""Looking inside our pipeline while it runs, without changing what it computes.

`load_recording_classifier` is a `ClassifierLoader` for `run_pipeline(loader=...)`: it
loads the classifier the usual way and wraps its backend so that every batch is
 - timed (Beam counter `benchmark/backend_ns`; the whole `classify` call, tokenizing and
   labelling included, is `benchmark/classify_ns`);
 - saved (`batch-PID-N.npz` in the recording directory), so that the backend alone can
   replay exactly the batches the pipeline formed (`replay_batches`).
Saving happens outside the timed region; it adds a few milliseconds to the pipeline's
wall time, which counts against our pipeline, not for it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from apache_beam.metrics import Metrics

from trt_text_classifier.backends.base import BackendLimits, InferenceBackend
from trt_text_classifier.serving.classifier import (
    DEFAULT_THRESHOLD,
    ClassifiedBatch,
    TextClassifier,
)
from trt_text_classifier.serving.handler import TextClassificationModelHandler
from trt_text_classifier.serving.loading import load_classifier

NAMESPACE = "benchmark"


class WrappedBackend:
    """An `InferenceBackend` that passes everything to `backend`; subclasses watch `infer`."""

    def __init__(self, backend: InferenceBackend) -> None:
        self._backend = backend

    @property
    def input_names(self) -> tuple[str, ...]:
        return self._backend.input_names

    @property
    def limits(self) -> BackendLimits:
        return self._backend.limits

    def infer(self, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        return self._backend.infer(inputs)

    def close(self) -> None:
        self._backend.close()


class RecordingBackend(WrappedBackend):
    """An `InferenceBackend` that times and saves each batch it passes to the real one."""

    def __init__(self, backend: InferenceBackend, directory: Path) -> None:
        super().__init__(backend)
        self._directory = directory
        self._batches = 0
        self._backend_ns = Metrics.counter(NAMESPACE, "backend_ns")

    def infer(self, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        started = time.perf_counter_ns()
        logits = self._backend.infer(inputs)
        self._backend_ns.inc(time.perf_counter_ns() - started)
        self._batches += 1
        np.savez(self._directory / f"batch-{os.getpid()}-{self._batches:06d}.npz", **inputs)
        return logits


class TimedClassifier(TextClassifier):
    """A `TextClassifier` that counts the nanoseconds of each `classify` call."""

    def classify(
        self, texts: Sequence[str], *, threshold: float = DEFAULT_THRESHOLD
    ) -> ClassifiedBatch:
        started = time.perf_counter_ns()
        result = super().classify(texts, threshold=threshold)
        Metrics.counter(NAMESPACE, "classify_ns").inc(time.perf_counter_ns() - started)
        return result


def load_recording_classifier(
    model_path: str, tokenizer: str | None, max_seq_length: int, *, directory: str
) -> TextClassifier:
    loaded = load_classifier(model_path, tokenizer, max_seq_length)
    backend = RecordingBackend(loaded.backend, Path(directory))
    return TimedClassifier(
        loaded.tokenizer,
        backend,
        loaded.labels,
        loaded.identity,
        problem_type=loaded.problem_type,
    )


def recorded_batches(directory: Path) -> list[dict[str, np.ndarray]]:
    """The batches a run saved, in the order each process ran them."""
    batches = []
    for path in sorted(directory.glob("batch-*.npz")):
        with np.load(path) as saved:
            batches.append({name: saved[name] for name in saved.files})
    return batches


def replay_batches(backend: InferenceBackend, batches: Sequence[Mapping[str, np.ndarray]]) -> float:
    """Seconds the backend alone takes for `batches`, one call each, as the pipeline made them."""
    started = time.perf_counter()
    for batch in batches:
        backend.infer(batch)
    return time.perf_counter() - started


class BusyLogBackend(WrappedBackend):
    """An `InferenceBackend` that logs each call's start and end (monotonic seconds) and shape.

    Used where the backend runs (the serving process when it is shared): the union of
    the logged intervals is the time the backend was busy. One line per call, written
    at once, because the serving process ends without notice when the job does.
    """

    def __init__(self, backend: InferenceBackend, log: Path) -> None:
        super().__init__(backend)
        self._log = open(log, "a", buffering=1, encoding="utf-8")  # noqa: SIM115

    def infer(self, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        started = time.monotonic()
        logits = self._backend.infer(inputs)
        batch, sequence = next(iter(inputs.values())).shape
        self._log.write(f"{started:.6f} {time.monotonic():.6f} {batch} {sequence}\n")
        return logits

    def close(self) -> None:
        super().close()
        self._log.close()


def load_busy_logging_classifier(
    model_path: str, tokenizer: str | None, max_seq_length: int, *, log: str
) -> TextClassifier:
    started = time.monotonic()
    loaded = load_classifier(model_path, tokenizer, max_seq_length)
    backend = BusyLogBackend(loaded.backend, Path(log))
    log_load(Path(log), started)
    return TextClassifier(loaded.tokenizer, backend, loaded.labels, loaded.identity)


def log_load(log: Path, started: float) -> None:
    """One `load START END` line: when the backend's loading (session creation) began and ended."""
    with open(log, "a", encoding="utf-8") as file:
        file.write(f"load {started:.6f} {time.monotonic():.6f}\n")


def load_interval(log: Path) -> tuple[float, float] | None:
    """(start, end) of the first backend load logged, if any."""
    for line in log.read_text().splitlines():
        if line.startswith("load "):
            _, start, end = line.split()
            return float(start), float(end)
    return None


class SavingBackend(WrappedBackend):
    """Saves each batch it passes on (`batch-PID-N.npz`), in the process that tokenized it."""

    def __init__(self, backend: InferenceBackend, directory: Path) -> None:
        super().__init__(backend)
        self._directory = directory
        self._batches = 0

    def infer(self, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        logits = self._backend.infer(inputs)
        self._batches += 1
        np.savez(self._directory / f"batch-{os.getpid()}-{self._batches:06d}.npz", **inputs)
        return logits


class BatchSavingHandler(TextClassificationModelHandler):
    """The handler, saving every batch on the SDK side so the backend alone can replay it."""

    def __init__(self, model_path: str, *, save_to: str, save: bool = True, **kwargs) -> None:
        super().__init__(model_path, **kwargs)
        self._save_to = save_to
        self._save = save

    def load_model(self) -> TextClassifier:
        loaded = super().load_model()
        if not self._save:
            return loaded
        backend = SavingBackend(loaded.backend, Path(self._save_to))
        return TextClassifier(loaded.tokenizer, backend, loaded.labels, loaded.identity)


def busy_intervals(log: Path) -> list[tuple[float, float, int, int]]:
    """(start, end, batch, sequence) of every logged call, by start."""
    lines = log.read_text().splitlines()
    rows = [line.split() for line in lines if line.strip() and not line.startswith("load ")]
    return sorted((float(a), float(b), int(n), int(s)) for a, b, n, s in rows)


def union_seconds(intervals: Sequence[tuple[float, float, int, int]]) -> float:
    """Seconds during which at least one call was in flight."""
    busy, reach = 0.0, float("-inf")
    for start, end, _, _ in intervals:
        if end <= reach:
            continue
        busy += end - max(start, reach)
        reach = end
    return busy
