"""Host work per sentence, outside Beam: tokenizing and turning logits into output records.

Both paths run their real code with the model replaced by constant logits
(`ConstantLogits`), so only the host side is timed:
- ours: order the records with the pipeline's own `OrderByLength` (a token count per
  window), encode each batch padded to its longest record, label it
  (`TextClassifier.classify`) and serialize each `Prediction`;
- seed-style: tokenize each sentence padded to 128, decode its ids and label it
  (`seed_pipeline.tokenize_one` and `label_one`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from apache_beam.ml.inference.base import PredictionResult

import seed_pipeline
from trt_text_classifier.backends.base import BackendLimits
from trt_text_classifier.io.sinks import json_lines_of
from trt_text_classifier.records import TextRecord
from trt_text_classifier.serving.classifier import TextClassifier
from trt_text_classifier.serving.handler import TextClassificationModelHandler
from trt_text_classifier.serving.length_ordering import LENGTH_ORDER_BATCHES, OrderByLength
from trt_text_classifier.serving.tokenization import BatchTokenizer


class ConstantLogits:
    """An `InferenceBackend` that returns zeros at once: isolates the host's share of a batch."""

    def __init__(self, input_names: Sequence[str], labels: int) -> None:
        self._input_names = tuple(input_names)
        self._labels = labels

    @property
    def input_names(self) -> tuple[str, ...]:
        return self._input_names

    @property
    def limits(self) -> BackendLimits:
        return BackendLimits(max_batch_size=None, max_sequence_length=None)

    def infer(self, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        return np.zeros((len(next(iter(inputs.values()))), self._labels), dtype=np.float32)

    def close(self) -> None:
        pass


def our_host_microseconds(
    bundle: Path,
    sentences: Sequence[str],
    *,
    input_names: Sequence[str],
    labels: Sequence[str],
    batch_size: int,
    max_seq_length: int = 128,
) -> float:
    tokenizer = BatchTokenizer.from_pretrained(str(bundle), max_seq_length=max_seq_length)
    classifier = TextClassifier(
        tokenizer, ConstantLogits(input_names, len(labels)), labels, "constant@000000000000"
    )
    handler = TextClassificationModelHandler(
        str(bundle / "model.onnx"), max_seq_length=max_seq_length, max_batch_size=batch_size
    )
    records = [TextRecord(str(number), text) for number, text in enumerate(sentences)]
    ordering = OrderByLength(batch_size, LENGTH_ORDER_BATCHES, lambda: tokenizer.count_tokens)
    ordering.setup()
    started = time.perf_counter()
    ordering.start_bundle()
    batches = list(ordering.process(records))
    batches += [value.value for value in ordering.finish_bundle()]
    for batch in batches:
        # The product's own path: the handler's inference (labels, Predictions) and JSON lines.
        json_lines_of(list(handler.run_inference(batch, classifier)))
    return (time.perf_counter() - started) / len(sentences) * 1e6


def seed_host_microseconds(bundle: Path, sentences: Sequence[str], labels: Sequence[str]) -> float:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(bundle))
    logits = np.zeros(len(labels), dtype=np.float32)
    started = time.perf_counter()
    for text in sentences:
        example = seed_pipeline.tokenize_one(tokenizer, text)
        seed_pipeline.label_one(tokenizer, labels, PredictionResult(example, logits))
    return (time.perf_counter() - started) / len(sentences) * 1e6
