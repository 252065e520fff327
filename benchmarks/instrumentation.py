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
from trt_text_classifier.classifier import ClassifiedBatch, TextClassifier
from trt_text_classifier.loading import load_classifier

NAMESPACE = "benchmark"


class RecordingBackend:
    """An `InferenceBackend` that times and saves each batch it passes to the real one."""

    def __init__(self, backend: InferenceBackend, directory: Path) -> None:
        self._backend = backend
        self._directory = directory
        self._batches = 0
        self._backend_ns = Metrics.counter(NAMESPACE, "backend_ns")

    @property
    def input_names(self) -> tuple[str, ...]:
        return self._backend.input_names

    @property
    def limits(self) -> BackendLimits:
        return self._backend.limits

    def infer(self, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        started = time.perf_counter_ns()
        logits = self._backend.infer(inputs)
        self._backend_ns.inc(time.perf_counter_ns() - started)
        self._batches += 1
        np.savez(self._directory / f"batch-{os.getpid()}-{self._batches:06d}.npz", **inputs)
        return logits

    def close(self) -> None:
        self._backend.close()


class TimedClassifier(TextClassifier):
    """A `TextClassifier` that counts the nanoseconds of each `classify` call."""

    def classify(self, texts: Sequence[str]) -> ClassifiedBatch:
        started = time.perf_counter_ns()
        result = super().classify(texts)
        Metrics.counter(NAMESPACE, "classify_ns").inc(time.perf_counter_ns() - started)
        return result


def load_recording_classifier(
    model_path: str, tokenizer: str | None, max_seq_length: int, *, directory: str
) -> TextClassifier:
    loaded = load_classifier(model_path, tokenizer, max_seq_length)
    backend = RecordingBackend(loaded.backend, Path(directory))
    return TimedClassifier(loaded.tokenizer, backend, loaded.labels, loaded.identity)


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
