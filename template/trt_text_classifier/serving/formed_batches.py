"""`FormedBatchesHandler`: RunInference over batches that were formed upstream."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from apache_beam.ml.inference.base import ModelHandler

from trt_text_classifier.records import DeadLetter, Prediction, TextRecord
from trt_text_classifier.serving.classifier import TextClassifier
from trt_text_classifier.serving.handler import TextClassificationModelHandler


class FormedBatchesHandler(ModelHandler[TextRecord, list[Prediction | DeadLetter], TextClassifier]):
    """RunInference over batches formed upstream: one element in, one list of results out.

    Batch jobs form their batches while ordering records by length
    (`length_ordering.OrderByLength`), so that every later step moves one Beam element
    per batch instead of one per record. Beam's own batching is skipped; each
    element is a list of `TextRecord`s, classified by `handler` as one batch
    (its failure isolation, watch and model cache included), and its results
    (`Prediction`s, or `DeadLetter`s of records that failed alone) leave as one
    list. Beam's inference metrics still count records and bytes; a batch that
    fails as a whole comes out of `with_exception_handling` as (records, error).
    """

    def __init__(self, handler: TextClassificationModelHandler) -> None:
        super().__init__()
        self._handler = handler

    def load_model(self) -> TextClassifier:
        return self._handler.load_model()

    def run_inference(
        self,
        batch: Sequence[TextRecord],
        model: TextClassifier,
        inference_args: dict[str, Any] | None = None,
    ) -> list[list[Prediction | DeadLetter]]:
        return [list(self._handler.run_inference(batch, model, inference_args))]

    def get_num_bytes(self, batch: Sequence[TextRecord]) -> int:
        return self._handler.get_num_bytes(batch)

    def get_metrics_namespace(self) -> str:
        return self._handler.get_metrics_namespace()

    def update_model_path(self, model_path: str | None = None) -> None:
        self._handler.update_model_path(model_path)

    def should_skip_batching(self) -> bool:
        return True

    def share_model_across_processes(self) -> bool:
        return self._handler.share_model_across_processes()

    def model_copies(self) -> int:
        return self._handler.model_copies()
