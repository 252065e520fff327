"""`OrderByLength`: batches of records of similar token count, formed before inference.

The handler pads each batch to its longest record, so records of equal length in one
batch waste the least compute on padding.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Sequence

import apache_beam as beam
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.windowed_value import WindowedValue

from trt_text_classifier.records import TextRecord
from trt_text_classifier.serving.handler import TextClassificationModelHandler

LENGTH_ORDER_BATCHES = 16
"""Batches' worth of records `OrderByLength` holds and sorts together."""
MAX_PADDING_RATIO = 2
"""A formed batch's longest record has at most this many times the tokens of its shortest."""

TokenCounter = Callable[[Sequence[str]], Sequence[int]]
"""texts -> tokens per text, as the model's tokenizer counts them."""


class OrderByLength(beam.DoFn):
    """Lists of records in, batches of records of similar token count out (batch jobs).

    The handler pads each batch to its longest record. Holding at least
    `window_batches` batches' worth of records (it takes whole lists, e.g.
    `ReadLines`'s chunks), sorting them by the number of tokens the model will
    see and cutting the sorted window into batches of `batch_size` makes the
    records of a batch equal in length, so padding stays small. A batch also
    ends before a record with more than `MAX_PADDING_RATIO` times the tokens of
    the batch's shortest (a small job's one window spans every length). Each batch leaves as one
    element (a list), and stays one element through inference and output
    (`FormedBatchesHandler`): Beam's per-element work is paid per batch. The
    last window of a bundle may give one shorter batch. Memory is bounded by
    `batch_size * window_batches` records plus one list.

    Counting tokens is the records' one tokenizer pass: the handler pads the
    encodings it made (`BatchTokenizer.count_tokens` keeps them) instead of
    tokenizing the batch again. Tokens, not characters: punctuation, rare words
    and non-Latin scripts split into several pieces.

    Args:
      batch_size: records per emitted batch (the handler's `max_batch_size`).
      window_batches: batches held and sorted together.
      load_token_counter: called once per DoFn instance, on the worker, to get
        the counter (e.g. `TextClassificationModelHandler.load_tokenizer`'s
        `count_tokens`).
    """

    def __init__(
        self,
        batch_size: int,
        window_batches: int,
        load_token_counter: Callable[[], TokenCounter],
    ) -> None:
        self._batch_size = batch_size
        self._window_size = batch_size * window_batches
        self._load_token_counter = load_token_counter
        self._count_tokens: TokenCounter | None = None
        self._window: list[TextRecord] = []

    def setup(self) -> None:
        self._count_tokens = self._load_token_counter()

    def start_bundle(self) -> None:
        self._window = []

    def process(self, chunk: list[TextRecord]) -> Iterator[list[TextRecord]]:
        self._window.extend(chunk)
        if len(self._window) >= self._window_size:
            yield from self._release()

    def finish_bundle(self) -> Iterator[WindowedValue]:
        window = GlobalWindow()
        for batch in self._release():
            yield WindowedValue(batch, window.max_timestamp(), (window,))

    def _release(self) -> list[list[TextRecord]]:
        if not self._window:
            return []
        if self._count_tokens is None:
            raise RuntimeError("OrderByLength: setup() loads the token counter before any record")
        counts = self._count_tokens([record.text for record in self._window])
        ordered = sorted(zip(counts, self._window, strict=True), key=operator.itemgetter(0))
        self._window = []
        batches: list[list[TextRecord]] = []
        batch: list[TextRecord] = []
        shortest = 0
        for count, record in ordered:
            if batch and (len(batch) >= self._batch_size or count > MAX_PADDING_RATIO * shortest):
                batches.append(batch)
                batch = []
            if not batch:
                shortest = count
            batch.append(record)
        if batch:
            batches.append(batch)
        return batches


def load_token_counter(handler: TextClassificationModelHandler) -> TokenCounter:
    """The handler's tokenizer's counter (loads the tokenizer: call it on the worker)."""
    return handler.load_tokenizer().count_tokens
