"""Faults injected around the real things: the ONNX Runtime backend and the batch tokenizer.

Each loader below has the handler's `ClassifierLoader` signature: it loads the
real classifier and wraps one part of it in a double that raises on chosen
records, so a test decides exactly which records fail.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np

from trt_text_classifier.serving.classifier import (
    DEFAULT_THRESHOLD,
    ClassifiedBatch,
    TextClassifier,
)
from trt_text_classifier.serving.loading import load_classifier
from trt_text_classifier.serving.tokenization import BatchTokenizer, TokenizedBatch

POISON = "☃"
"""Not in the demo vocabulary: its tokens are [UNK], which the faulty backend refuses."""


class FaultyBackend:
    """The real ONNX Runtime backend, except that it raises on batches holding an [UNK] token."""

    def __init__(self, real, unknown_token_id: int) -> None:
        self._real = real
        self._unknown_token_id = unknown_token_id
        self.input_names = real.input_names
        self.limits = real.limits

    def infer(self, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        if (inputs["input_ids"] == self._unknown_token_id).any():
            raise RuntimeError("injected fault: the accelerator rejected this batch")
        return self._real.infer(inputs)

    def close(self) -> None:
        self._real.close()


def load_faulty_classifier(
    model: str, tokenizer: str | None, max_seq_length: int
) -> TextClassifier:
    real = load_classifier(model, tokenizer, max_seq_length)
    unknown = real.tokenizer.encode([POISON], ["input_ids"]).arrays["input_ids"][0][1]
    return TextClassifier(
        real.tokenizer, FaultyBackend(real.backend, int(unknown)), real.labels, real.identity
    )


UNTOKENIZABLE = "§"


class FaultyTokenizer:
    """The real batch tokenizer, except that it raises on texts holding `UNTOKENIZABLE`.

    (A real untokenizable str, a lone UTF-16 surrogate, cannot even be
    encoded by Beam's coders; the sources reject it before it gets here.)
    """

    def __init__(self, real: BatchTokenizer) -> None:
        self._real = real
        self.max_seq_length = real.max_seq_length

    def encode(self, texts: Sequence[str], input_names: Sequence[str]) -> TokenizedBatch:
        for text in texts:
            if UNTOKENIZABLE in text:
                raise ValueError(f"injected fault: cannot tokenize {text!r}")
        return self._real.encode(texts, input_names)


def load_classifier_with_faulty_tokenizer(
    model: str, tokenizer: str | None, max_seq_length: int
) -> TextClassifier:
    real = load_classifier(model, tokenizer, max_seq_length)
    return TextClassifier(FaultyTokenizer(real.tokenizer), real.backend, real.labels, real.identity)


UNENCODABLE = "¤"
"""A text holding it is classified, but its prediction cannot be written as JSON."""


class UnencodableClassifier(TextClassifier):
    """The real classifier, except that predictions of texts holding `UNENCODABLE` carry a
    probability JSON cannot encode (a set)."""

    def classify(
        self, texts: Sequence[str], *, threshold: float = DEFAULT_THRESHOLD
    ) -> ClassifiedBatch:
        batch = super().classify(texts, threshold=threshold)
        classifications = [
            replace(found, probabilities={**found.probabilities, "unencodable": {1.0}})
            if UNENCODABLE in text
            else found
            for text, found in zip(texts, batch.classifications, strict=True)
        ]
        return replace(batch, classifications=classifications)


def load_classifier_with_unencodable_predictions(
    model: str, tokenizer: str | None, max_seq_length: int
) -> TextClassifier:
    real = load_classifier(model, tokenizer, max_seq_length)
    return UnencodableClassifier(real.tokenizer, real.backend, real.labels, real.identity)
