"""The protocol every inference backend implements."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np


class BackendError(RuntimeError):
    """The backend cannot load or run the model. The message says why and what to do."""


@dataclass(frozen=True)
class BackendLimits:
    """What one call of `InferenceBackend.infer` accepts; None means unbounded.

    Batches above `max_batch_size` are split by the backend itself; sequences
    above `max_sequence_length` must never reach it (the tokenizer truncates).
    """

    max_batch_size: int | None
    max_sequence_length: int | None


class InferenceBackend(Protocol):
    """Runs one padded batch of named integer arrays and returns the logits.

    Implementations allocate in `__init__` (from a local model path), reuse
    their buffers for every batch, and release everything in `close`.
    """

    @property
    def input_names(self) -> tuple[str, ...]:
        """The model's inputs, e.g. ("input_ids", "attention_mask", "token_type_ids")."""
        ...

    @property
    def limits(self) -> BackendLimits: ...

    def infer(self, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        """Logits of shape (batch, labels) as float32, owned by the caller.

        `inputs` maps every name of `input_names` to a (batch, sequence) array.
        """
        ...

    def close(self) -> None: ...
