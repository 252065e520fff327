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
record, see `isolate_failures`), `model_updates` and `model_updates_refused`.

Model swap (streaming jobs): Beam's RunInference calls `update_model_path`
with each new file its `WatchFilePattern` side input reports. The file is
checked as at launch and loaded (`model_swap.py`) before the handler takes
it; a file that fails is refused, logged with the reason and counted, and the
current model keeps serving. Where the runner cannot deliver that side input
(the local DirectRunner blocks on a global-window side input in streaming
mode until the end of time), `watch_models` makes the handler itself match
the pattern between batches and swap through the same `update_model_path`.
"""

from __future__ import annotations

import functools
import logging
import threading
import unicodedata
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from apache_beam.metrics import Metrics
from apache_beam.ml.inference.base import ModelHandler

from trt_text_classifier.errors import one_line
from trt_text_classifier.records import METRICS_NAMESPACE, DeadLetter, Prediction, TextRecord
from trt_text_classifier.serving import model_swap
from trt_text_classifier.serving.classifier import DEFAULT_THRESHOLD, TextClassifier
from trt_text_classifier.serving.loading import Backend
from trt_text_classifier.serving.shared_backend import ClassifierLoader, acquire_shared_backend
from trt_text_classifier.serving.tokenization import BatchTokenizer
from trt_text_classifier.serving.worker_heap import freeze_worker_heap

_LOGGER = logging.getLogger(__name__)

LENGTH_BUCKET_BOUNDARIES = (32, 64, 96, 128, 192, 256, 384, 512, 1024)
"""Record lengths in characters (about 4 per WordPiece token for English)
where length buckets split, for streaming jobs' stateful batching."""


def record_length(record: TextRecord) -> int:
    """The length streaming jobs bucket by: characters, a proxy for tokens.

    Beam calls it inside its stateful batching, where no tokenizer is loaded.
    Batch jobs order by exact token counts instead (`length_ordering.OrderByLength`).
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


NOTHING_TO_TOKENIZE = frozenset({"Cc", "Cf", "Cs", "Zs", "Zl", "Zp"})
"""Unicode categories a BERT tokenizer drops (control and format characters such as
U+200B, whitespace): a text of nothing else tokenizes to [CLS][SEP] alone."""


def has_tokens(text: str) -> bool:
    """False when `text` holds nothing a tokenizer keeps (see `NOTHING_TO_TOKENIZE`)."""
    return any(
        char.isalnum()
        or (unicodedata.category(char) not in NOTHING_TO_TOKENIZE and char != "\ufffd")
        for char in text
    )


def tokenize_dead_letter(record: TextRecord) -> DeadLetter:
    """The dead letter of a record whose text tokenizes to no token, as blank text is."""
    return DeadLetter(
        record.id,
        record.text,
        "text holds nothing to classify (only whitespace, control or zero-width characters)",
        "tokenize",
        record.fields,
        record.attributes,
    )


__all__ = [
    "ClassifierLoader",
    "TextClassificationModelHandler",
    "inference_dead_letter",
]

_LOADED: dict[str, tuple[str, TextClassifier]] = {}
"""Per process: handler instance key -> (model path, the classifier loaded for it)."""
_LOADING = threading.Lock()


class TextClassificationModelHandler(
    ModelHandler[TextRecord, Prediction | DeadLetter, TextClassifier]
):
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
      share_across_processes: serve one backend per worker VM instead of one
        per SDK process (what a GPU needs: one engine per GPU). Each SDK
        process still loads the tokenizer and tokenizes its own batches; only
        the padded arrays travel to the process serving the backend (see
        `shared_backend.py`).
      backend: "onnxruntime" or "tensorrt"; default: by the model path's
        extension (`.onnx` in any case is ONNX, anything else an engine).
      loader: how to load the classifier (replaces `backend`'s loader). With
        `share_across_processes` it runs in the serving process and only its
        backend, labels and identity are used.
      isolate_failures: when a batch fails, retry its records one at a time
        and return a `DeadLetter` (stage "inference") for each record that
        fails alone, instead of failing the whole batch. One bad record then
        costs its neighbours nothing. Off by default so that plain
        `RunInference(handler)` yields only `Prediction`s; the template's
        pipeline turns it on and routes the dead letters.
      threshold: multi-label models answer every label whose probability is
        at or above it; single-label models ignore it.
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
        threshold: float = DEFAULT_THRESHOLD,
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
            # Beam annotates it as int but uses it as seconds of any kind.
            max_batch_duration_secs=max_batch_duration_secs,  # type: ignore[arg-type]
            **bucketing,
        )
        self._share_backend = share_across_processes
        self._instance_key = uuid.uuid4().hex
        self._model_path = model_path
        self._tokenizer = tokenizer
        self._max_seq_length = max_seq_length
        self._backend = backend
        self._loader = loader
        self._isolate_failures = isolate_failures
        self._threshold = threshold
        self._isolated_batches = Metrics.counter(METRICS_NAMESPACE, "isolated_batches")
        self._real_tokens = Metrics.counter(METRICS_NAMESPACE, "real_tokens")
        self._computed_tokens = Metrics.counter(METRICS_NAMESPACE, "computed_tokens")
        self._truncated_records = Metrics.counter(METRICS_NAMESPACE, "truncated_records")
        self._model_updates = Metrics.counter(METRICS_NAMESPACE, "model_updates")
        self._model_updates_refused = Metrics.counter(METRICS_NAMESPACE, "model_updates_refused")
        self._accepted: TextClassifier | None = None
        self._watch: model_swap.ModelWatch | None = None
        self._swapped: TextClassifier | None = None

    def __getstate__(self) -> dict[str, Any]:
        """Loaded models stay in the process that loaded them."""
        state = self.__dict__.copy()
        state.update(_accepted=None, _swapped=None)
        return state

    @property
    def model_path(self) -> str:
        return self._model_path

    @property
    def shares_backend_across_processes(self) -> bool:
        return self._share_backend

    def load_model(self) -> TextClassifier:
        """The classifier, loaded once per process and model path.

        Beam keeps a loaded model only while a DoFn instance holds it; runners
        that set DoFns up per bundle (the streaming DirectRunner) would load
        the model for every bundle. Every copy of this handler (they are
        pickled to the workers) shares one process-wide entry, replaced when
        the model path changes (a swap hands its checked model over here).
        An SDK worker's first load freezes what the process has loaded so far
        (`worker_heap.freeze_worker_heap`).
        """
        with _LOADING:
            accepted, self._accepted = self._accepted, None
            cached = _LOADED.get(self._instance_key)
            if accepted is None and cached is not None and cached[0] == self._model_path:
                return cached[1]
            classifier = accepted
            if classifier is None:
                freeze_worker_heap()
                classifier = self._load(self._model_path)
            _LOADED[self._instance_key] = (self._model_path, classifier)
            return classifier

    def _load(self, model_path: str) -> TextClassifier:
        from trt_text_classifier.serving.loading import load_classifier

        loader = self._loader or functools.partial(load_classifier, backend=self._backend)
        if not self._share_backend:
            return loader(model_path, self._tokenizer, self._max_seq_length)
        backend = acquire_shared_backend(model_path, self._tokenizer, self._max_seq_length, loader)
        return TextClassifier(self.load_tokenizer(), backend, backend.labels, backend.identity)

    def load_tokenizer(self) -> BatchTokenizer:
        """The model's tokenizer on its own: ordering records by token count needs no model."""
        from trt_text_classifier.serving.loading import load_tokenizer

        return load_tokenizer(
            self._model_path, self._tokenizer, self._max_seq_length, self._backend
        )

    def run_inference(
        self,
        batch: Sequence[TextRecord],
        model: TextClassifier,
        inference_args: dict[str, Any] | None = None,
    ) -> Iterable[Prediction | DeadLetter]:
        model = self._watched(model)
        dead: list[Prediction | DeadLetter] = []
        if not all(has_tokens(record.text) for record in batch):
            kept = []
            for record in batch:
                if has_tokens(record.text):
                    kept.append(record)
                else:
                    dead.append(tokenize_dead_letter(record))
            batch = kept
        if not batch:
            return dead
        if not self._isolate_failures:
            return [*self._classify(batch, model), *dead]
        try:
            return [*self._classify(batch, model), *dead]
        except Exception:
            self._isolated_batches.inc()
            return [*(self._classify_alone(record, model) for record in batch), *dead]

    def _classify(self, batch: Sequence[TextRecord], model: TextClassifier) -> list[Prediction]:
        result = model.classify([record.text for record in batch], threshold=self._threshold)
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
                labels=item.labels,
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
        """Take `model_path` over if it passes the swap checks; otherwise refuse it.

        Beam calls this (twice per new file) before `load_model`; an accepted
        file is loaded here, so `load_model` hands over the checked model
        instead of loading it again. A refused file is never tried again
        (Beam's watch, too, ignores a name it has seen: upload under a new
        name). With a watched pattern (`watch_models`), a refused file makes
        the handler take the newest match that passes instead, so that every
        worker, whenever it started, serves the same model.
        """
        if not model_path or model_path == self._model_path:
            return
        if not self._take_over(model_path) and self._watch is not None:
            self._take_newest_acceptable()

    def _take_over(self, model_path: str) -> bool:
        """Check and load `model_path` (once per process); True when it now serves."""
        key = (model_path, self._tokenizer, self._max_seq_length)
        try:
            classifier = model_swap.SWAPS.get_or_load(key, self._load_announced)
        except Exception as error:
            if model_swap.SWAPS.refuse(key):
                self._model_updates_refused.inc()
                _LOGGER.warning(
                    "model update refused: %s: %s", model_path, one_line(error, with_type=False)
                )
            return False
        self._model_path = model_path
        self._accepted = classifier
        return True

    def _load_announced(self, model_path: str) -> TextClassifier:
        classifier = self._load_checked(model_path)
        self._model_updates.inc()
        _LOGGER.warning("model update: now serving %s (was %s)", model_path, self._model_path)
        return classifier

    def _take_newest_acceptable(self) -> None:
        """Serve the newest file of the watched pattern that passes the checks."""
        if self._watch is None:
            return
        for path in model_swap.newest_first(self._watch.pattern):
            if path == self._model_path or self._take_over(path):
                return

    def watch_models(self, pattern: str, interval_secs: float, *, poll: bool) -> None:
        """Serve the newest file matching `pattern` that passes the swap checks.

        With `poll`, the handler matches the pattern itself, at most every
        `interval_secs`, between batches: for runners without Beam's
        model-refresh side input (the local DirectRunner). Without it, Beam's
        `WatchFilePattern` (RunInference's `watch_model_pattern`) reports new
        files and the pattern only serves to fall back from a refused one.
        """
        self._watch = model_swap.ModelWatch(pattern, interval_secs, poll=poll)

    def _load_checked(self, model_path: str) -> TextClassifier:
        limits = model_swap.ServingLimits(
            max_seq_length=self._max_seq_length,
            max_batch_size=self.batch_elements_kwargs().get("max_batch_size", 64),
        )
        candidate = model_swap.read_model_facts(model_path, limits, self._backend)
        model_swap.check_replacement(
            model_swap.read_model_facts(self._model_path, limits, self._backend), candidate
        )
        classifier = self._load(model_path)
        try:
            model_swap.probe(classifier)
        except BaseException:
            classifier.close()
            raise
        return classifier

    def _watched(self, model: TextClassifier) -> TextClassifier:
        """The model to serve this batch with: Beam's, or the one the handler's watch swapped in."""
        if self._watch is None or not self._watch.poll:
            return model
        with self._watch.lock:
            if self._watch.due():
                self._take_newest_acceptable()
                if self._accepted is not None:
                    self._swapped, self._accepted = self._accepted, None
            return self._swapped or model
