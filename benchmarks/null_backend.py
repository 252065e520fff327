"""A benchmark-only backend that computes nothing: the host path's ceiling.

`NullBackend.infer` returns zero logits of the right shape (batch x labels) at once, so a
pipeline served by it runs everything but the model: reading, tokenizing, ordering by
length, sending the padded arrays to the shared backend process and the logits back,
labelling, writing. Its throughput is what the host can feed a backend that took no time
(the headroom left for TensorRT). It lives in benchmarks/ only and is never a product
backend.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from trt_text_classifier.backends.base import BackendLimits
from trt_text_classifier.bundle import BundleManifest, manifest_path_for
from trt_text_classifier.serving.classifier import TextClassifier
from trt_text_classifier.serving.loading import load_tokenizer

INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")


class NullBackend:
    """Zero logits of shape (batch, labels); no model, no device."""

    def __init__(self, labels: int) -> None:
        self._labels = labels

    @property
    def input_names(self) -> tuple[str, ...]:
        return INPUT_NAMES

    @property
    def limits(self) -> BackendLimits:
        return BackendLimits(max_batch_size=None, max_sequence_length=None)

    def infer(self, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        batch = len(next(iter(inputs.values())))
        return np.zeros((batch, self._labels), dtype=np.float32)

    def close(self) -> None:
        pass


def load_null_classifier(
    model_path: str, tokenizer: str | None, max_seq_length: int, *, log: str
) -> TextClassifier:
    """The bundle's tokenizer and labels around a `NullBackend` (the ONNX file is not read).

    Logs each call like `instrumentation.BusyLogBackend`, so the steady span is measured
    the same way as with a real backend.
    """
    import instrumentation

    started = time.monotonic()
    manifest = BundleManifest.model_validate_json(Path(manifest_path_for(model_path)).read_text())
    batch_tokenizer = load_tokenizer(model_path, tokenizer, max_seq_length, backend="onnxruntime")
    backend = instrumentation.BusyLogBackend(NullBackend(len(manifest.labels)), Path(log))
    instrumentation.log_load(Path(log), started)
    return TextClassifier(batch_tokenizer, backend, manifest.labels, "null-backend")
