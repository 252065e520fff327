"""Tokenizer + backend + labels: classify a batch of texts, no Beam involved."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from trt_text_classifier.backends.base import InferenceBackend
from trt_text_classifier.tokenization import BatchTokenizer, TokenizedBatch


@dataclass(frozen=True)
class Classification:
    label: str
    score: float
    probabilities: dict[str, float]


@dataclass(frozen=True)
class ClassifiedBatch:
    classifications: list[Classification]
    tokenized: TokenizedBatch
    model: str
    """The classifier's identity. Returned with every batch because a model shared
    across processes is a proxy that forwards method calls, not attributes."""


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64 (stable for large logits)."""
    shifted = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    exponentials = np.exp(shifted)
    return exponentials / exponentials.sum(axis=1, keepdims=True)


class NonFiniteLogitsError(ValueError):
    """The model returned NaN or infinite logits (e.g. an fp16 engine that overflowed)."""


def check_finite(logits: np.ndarray) -> None:
    """Labels from NaN/Inf logits would be arbitrary: refuse the batch, naming the rows."""
    finite = np.isfinite(logits).all(axis=1)
    if not finite.all():
        rows = np.flatnonzero(~finite).tolist()
        values = sorted({str(value) for value in logits[~finite].ravel() if not np.isfinite(value)})
        raise NonFiniteLogitsError(
            f"the model returned non-finite logits ({', '.join(values)}) for record(s) {rows} "
            "of the batch; no label can be derived (an fp16 engine may overflow: try fp32)"
        )


class TextClassifier:
    """What `load_model` returns on a worker: everything needed to classify a batch.

    `identity` names the model that answers (`loading.model_identity`); every
    prediction carries it as `model`.
    """

    def __init__(
        self,
        tokenizer: BatchTokenizer,
        backend: InferenceBackend,
        labels: Sequence[str],
        identity: str,
    ) -> None:
        self.tokenizer = tokenizer
        self.backend = backend
        self.labels = tuple(labels)
        self.identity = identity

    def classify(self, texts: Sequence[str]) -> ClassifiedBatch:
        tokenized = self.tokenizer.encode(texts, self.backend.input_names)
        logits = self.backend.infer(tokenized.arrays)
        if logits.shape != (len(texts), len(self.labels)):
            raise ValueError(
                f"the model returned logits of shape {logits.shape}, expected "
                f"({len(texts)}, {len(self.labels)}) for labels {self.labels}"
            )
        check_finite(logits)
        probabilities = softmax(logits)
        best = probabilities.argmax(axis=1)
        classifications = [
            Classification(
                label=self.labels[index],
                score=float(row[index]),
                probabilities={label: float(p) for label, p in zip(self.labels, row, strict=True)},
            )
            for index, row in zip(best, probabilities, strict=True)
        ]
        return ClassifiedBatch(classifications, tokenized, self.identity)

    def close(self) -> None:
        self.backend.close()
