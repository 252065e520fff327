"""Tokenizer + backend + labels: classify a batch of texts, no Beam involved.

Single-label models (the default) turn a record's logits into a softmax over
the labels and answer the arg-max label. Multi-label models
(`problem_type: multi_label_classification`) get an independent sigmoid per
label and answer every label at or above the threshold, besides the arg-max.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from trt_text_classifier.backends.base import InferenceBackend
from trt_text_classifier.bundle import MULTI_LABEL, SINGLE_LABEL, ProblemType
from trt_text_classifier.serving.tokenization import BatchTokenizer, TokenizedBatch

DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class Classification:
    label: str
    score: float
    probabilities: dict[str, float]
    labels: list[str] | None = None
    """Multi-label models only: the labels at or above the threshold, in label order."""


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


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """Element-wise logistic function in float64, written with tanh so no exp overflows."""
    return 0.5 * (1.0 + np.tanh(0.5 * logits.astype(np.float64)))


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
        *,
        problem_type: ProblemType = SINGLE_LABEL,
    ) -> None:
        self.tokenizer = tokenizer
        self.backend = backend
        self.labels = tuple(labels)
        self.identity = identity
        self.problem_type = problem_type

    @property
    def multi_label(self) -> bool:
        return self.problem_type == MULTI_LABEL

    def classify(
        self, texts: Sequence[str], *, threshold: float = DEFAULT_THRESHOLD
    ) -> ClassifiedBatch:
        """`threshold` applies to multi-label models only."""
        tokenized = self.tokenizer.encode(texts, self.backend.input_names)
        logits = self.backend.infer(tokenized.arrays)
        if logits.shape != (len(texts), len(self.labels)):
            raise ValueError(
                f"the model returned logits of shape {logits.shape}, expected "
                f"({len(texts)}, {len(self.labels)}) for labels {self.labels}"
            )
        check_finite(logits)
        probabilities = sigmoid(logits) if self.multi_label else softmax(logits)
        # Python floats for the whole batch at once: per-cell float() costs more than the rest.
        rows: list[list[float]] = probabilities.tolist()
        best: list[int] = probabilities.argmax(axis=1).tolist()
        return ClassifiedBatch(
            [
                self._classification(row, index, threshold)
                for row, index in zip(rows, best, strict=True)
            ],
            tokenized,
            self.identity,
        )

    def _classification(self, row: list[float], best: int, threshold: float) -> Classification:
        chosen = None
        if self.multi_label:
            chosen = [label for label, p in zip(self.labels, row, strict=True) if p >= threshold]
        return Classification(
            label=self.labels[best],
            score=row[best],
            probabilities=dict(zip(self.labels, row, strict=True)),
            labels=chosen,
        )

    def close(self) -> None:
        self.backend.close()
