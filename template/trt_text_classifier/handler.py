"""`TextClassificationModelHandler`: a Beam ModelHandler for BERT text classifiers.

Use it in any pipeline::

    handler = TextClassificationModelHandler("gs://bucket/model/model.onnx")
    predictions = records | RunInference(handler)

It takes `TextRecord(id, text)` elements and yields `Prediction`s (a record's
`fields` and `attributes` are copied onto its prediction). Per batch
it tokenizes once (one fast-tokenizer call), pads to the batch's longest
record, truncates at `max_seq_length`, runs the backend and turns logits into
labels. The tokenizer and the backend are loaded in `load_model`, on the
worker; constructing the handler touches no model file.

Besides Beam's standard RunInference metrics it counts, in its namespace:
`real_tokens` and `computed_tokens` (their ratio is the padding efficiency)
`truncated_records` and `isolated_batches` (failed batches retried record by
record, see `isolate_failures`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from apache_beam.metrics import Metrics
from apache_beam.ml.inference.base import ModelHandler

from trt_text_classifier.classifier import TextClassifier
from trt_text_classifier.loading import Backend
from trt_text_classifier.records import DeadLetter, Prediction, TextRecord
from trt_text_classifier.tokenization import BatchTokenizer

METRICS_NAMESPACE = "trt_text_classifier"

LENGTH_BUCKET_BOUNDARIES = (32, 64, 96, 128, 192, 256, 384, 512, 1024)
"""Record lengths in characters (about 4 per WordPiece token for English)
where length buckets split, for streaming jobs' stateful batching."""


def record_length(record: TextRecord) -> int:
    """The length streaming jobs bucket by: characters, a proxy for tokens.

    Beam calls it inside its stateful batching, where no tokenizer is loaded.
    Batch jobs order by exact token counts instead (`pipeline.OrderByLength`).
    """
    return len(record.text)


def inference_dead_letter(record: TextRecord, error: object) -> DeadLetter:
    """The dead letter of a record that failed inference; its fields and attributes travel on."""
    return DeadLetter(
        record.id,
        record.text,
        f"inference failed: {error!r}",
        "inference",
        record.fields,
        record.attributes,
    )


ClassifierLoader = Callable[[str, str | None, int], TextClassifier]
"""(model path, tokenizer directory or None, max_seq_length) -> a loaded classifier."""


class TextClassificationModelHandler(ModelHandler[TextRecord, Prediction, TextClassifier]):
    """Classifies `TextRecord`s with a BERT model served by ONNX Runtime or TensorRT.

    Args:
      model_path: a `model.onnx` (served by ONNX Runtime) or a TensorRT `.plan`
        (served by TensorRT), local or gs://.
      tokenizer: directory of the Hugging Face tokenizer; default: the one
        saved with the model.
      max_seq_length: tokens per record, special tokens included.
      min_batch_size, max_batch_size: bounds of RunInference's batches.
      max_batch_duration_secs: when set, batches are formed by Beam's stateful
        batching, keyed by length bucket (`LENGTH_BUCKET_BOUNDARIES`), and a
        partial batch waits at most this long: use it for streaming.
      share_across_processes: load one model per worker VM instead of one per
        SDK process (what a GPU needs: one engine per GPU).
      backend: "onnxruntime" or "tensorrt"; default: by the model path's
        extension (`.onnx` in any case is ONNX, anything else an engine).
      loader: how to load the classifier (replaces `backend`'s loader).
      isolate_failures: when a batch fails, retry its records one at a time
        and return a `DeadLetter` (stage "inference") for each record that
        fails alone, instead of failing the whole batch. One bad record then
        costs its neighbours nothing. Off by default so that plain
        `RunInference(handler)` yields only `Prediction`s; the template's
        pipeline turns it on and routes the dead letters.
    """

    def __init__(
        self,
        model_path: str,
        *,
        tokenizer: str | None = None,
        max_seq_length: int = 128,
        min_batch_size: int = 1,
        max_batch_size: int = 64,
        max_batch_duration_secs: float | None = None,
        share_across_processes: bool = False,
        backend: Backend | None = None,
        loader: ClassifierLoader | None = None,
        isolate_failures: bool = False,
    ) -> None:
        bucketing: dict[str, Any] = {}
        if max_batch_duration_secs is not None:
            bucketing = {
                "batch_length_fn": record_length,
                "batch_bucket_boundaries": list(LENGTH_BUCKET_BOUNDARIES),
            }
        super().__init__(
            min_batch_size=min_batch_size,
            max_batch_size=max_batch_size,
            max_batch_duration_secs=max_batch_duration_secs,
            large_model=share_across_processes,
            **bucketing,
        )
        self._model_path = model_path
        self._tokenizer = tokenizer
        self._max_seq_length = max_seq_length
        self._backend = backend
        self._loader = loader
        self._isolate_failures = isolate_failures
        self._isolated_batches = Metrics.counter(METRICS_NAMESPACE, "isolated_batches")
        self._real_tokens = Metrics.counter(METRICS_NAMESPACE, "real_tokens")
        self._computed_tokens = Metrics.counter(METRICS_NAMESPACE, "computed_tokens")
        self._truncated_records = Metrics.counter(METRICS_NAMESPACE, "truncated_records")

    @property
    def model_path(self) -> str:
        return self._model_path

    def load_model(self) -> TextClassifier:
        if self._loader is not None:
            return self._loader(self._model_path, self._tokenizer, self._max_seq_length)
        from trt_text_classifier.loading import load_classifier

        return load_classifier(
            self._model_path, self._tokenizer, self._max_seq_length, self._backend
        )

    def load_tokenizer(self) -> BatchTokenizer:
        """The model's tokenizer on its own: ordering records by token count needs no model."""
        from trt_text_classifier.loading import load_tokenizer

        return load_tokenizer(
            self._model_path, self._tokenizer, self._max_seq_length, self._backend
        )

    def run_inference(
        self,
        batch: Sequence[TextRecord],
        model: TextClassifier,
        inference_args: dict[str, Any] | None = None,
    ) -> Iterable[Prediction | DeadLetter]:
        if not self._isolate_failures:
            return self._classify(batch, model)
        try:
            return self._classify(batch, model)
        except Exception:
            self._isolated_batches.inc()
            return [self._classify_alone(record, model) for record in batch]

    def _classify(self, batch: Sequence[TextRecord], model: TextClassifier) -> list[Prediction]:
        result = model.classify([record.text for record in batch])
        self._real_tokens.inc(result.tokenized.real_tokens)
        self._computed_tokens.inc(result.tokenized.computed_tokens)
        self._truncated_records.inc(sum(result.tokenized.truncated))
        return [
            Prediction(
                record.id,
                record.text,
                item.label,
                item.score,
                item.probabilities,
                result.model,
                record.fields,
                record.attributes,
            )
            for record, item in zip(batch, result.classifications, strict=True)
        ]

    def _classify_alone(self, record: TextRecord, model: TextClassifier) -> Prediction | DeadLetter:
        try:
            (prediction,) = self._classify([record], model)
        except Exception as error:
            return inference_dead_letter(record, error)
        return prediction

    def get_num_bytes(self, batch: Sequence[TextRecord]) -> int:
        return sum(len(record.text.encode("utf-8")) for record in batch)

    def get_metrics_namespace(self) -> str:
        return METRICS_NAMESPACE

    def update_model_path(self, model_path: str | None = None) -> None:
        """Serve another model file (Beam's model refresh); the tokenizer stays."""
        if model_path:
            self._model_path = model_path
