"""Loaders and a handler that record which process did what, for tests across processes.

Each probe appends a line to a file in `PROBE_DIRECTORY_ENV` (set by the test): the SDK
worker processes of a multi-process DirectRunner are separate interpreters, so the
records go through files. Importable by the workers (the test puts tests/ on PYTHONPATH).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from trt_text_classifier.serving.classifier import TextClassifier
from trt_text_classifier.serving.handler import TextClassificationModelHandler
from trt_text_classifier.serving.loading import load_classifier
from trt_text_classifier.serving.tokenization import BatchTokenizer, TokenizedBatch

PROBE_DIRECTORY_ENV = "TRT_TEXT_CLASSIFIER_TEST_PROBES"


def record(event: str) -> None:
    """Append this process's id to the file EVENT in the probe directory."""
    with open(Path(os.environ[PROBE_DIRECTORY_ENV]) / event, "a", encoding="utf-8") as handle:
        handle.write(f"{os.getpid()}\n")


def recorded(directory: Path, event: str) -> list[int]:
    path = directory / event
    return [int(line) for line in path.read_text().split()] if path.exists() else []


class ProbedTokenizer:
    """The real batch tokenizer; records the process of every `encode`."""

    def __init__(self, real: BatchTokenizer) -> None:
        self._real = real
        self.max_seq_length = real.max_seq_length

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self._real.count_tokens(texts)

    def encode(self, texts: Sequence[str], input_names: Sequence[str]) -> TokenizedBatch:
        record("tokenize")
        return self._real.encode(texts, input_names)


class ProbedBackend:
    """The real backend; records the process of every `infer`."""

    def __init__(self, real) -> None:
        self._real = real
        self.input_names = real.input_names
        self.limits = real.limits

    def infer(self, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        record("infer")
        return self._real.infer(inputs)

    def close(self) -> None:
        self._real.close()


def load_probed_classifier(
    model: str, tokenizer: str | None, max_seq_length: int
) -> TextClassifier:
    """The real classifier, its tokenizer and backend probed; records each load."""
    record("load")
    real = load_classifier(model, tokenizer, max_seq_length)
    return TextClassifier(
        ProbedTokenizer(real.tokenizer), ProbedBackend(real.backend), real.labels, real.identity
    )


class ProbedHandler(TextClassificationModelHandler):
    """The handler, with the tokenizer it loads on its own (`load_tokenizer`) probed."""

    def load_tokenizer(self) -> BatchTokenizer:
        return ProbedTokenizer(super().load_tokenizer())
