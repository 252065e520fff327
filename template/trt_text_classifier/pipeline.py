"""The pipeline graph: read text, classify it, write predictions and dead letters.

Batch (--input):

    files -> ReadLines -> Reshuffle [-> ParseJsonLines] -> OrderByLength -> RunInference
               |                          |                                   |
               |                          |               JSON -> output, BigQuery
               +-- undecodable lines --+--+-- malformed JSON records    failed records
                                       v                                      v
                                 dead letters (JSON) -> dead_letter_output <--+

(ParseJsonLines with --input_format=jsonl, see `json_lines.py`.) Records
never travel one per Beam element: ReadLines emits lists of up to
`SPREAD_CHUNK` records, OrderByLength turns them into batches (lists of
`max_batch_size`), RunInference classifies each batch as formed
(`FormedBatchesHandler`), and its predictions stay one list through counting
and JSON encoding (one multi-line string per batch for WriteToText); only
BigQuery gets one element per prediction. Beam's work per element is paid per
list, not per record. Dead letters are rare and travel one per element. (With
`max_batch_duration_secs` set, a batch job lets Beam batch single records.)

Streaming (--input_subscription, see `io/pubsub.py`):

    Pub/Sub -> ParseMessages -> RunInference (stateful batching, length-bucketed,
                  |              max_batch_duration_secs) -> output_topic / BigQuery
                  |                                          / windowed files (output)
                  +-- malformed messages, failed batches, rejected rows
                        -> dead_letter_topic, or windowed files (`windowed_files.py`)

One function per source (`read_files`, `read_messages`) and per sink
(`write_predictions`, `write_dead_letters`); `build_pipeline` composes them.

Record ids: a line of an input file gets the id `PATH:LINE`, where PATH is the
file's full path as matched (e.g. gs://bucket/in/a.txt) and LINE its 1-based
line number, blank lines included. So every output names the exact line it
came from, and ids are unique across files. A JSON Lines record or a message
keeps the id it carries (see `json_records.py`); such ids are not checked for
uniqueness.

Invariant: every non-blank input line (every message) ends as exactly one
prediction or exactly one dead letter. Each file is read sequentially by one
worker (memory stays flat for any file size); the Reshuffle spreads the
records, in lists of `SPREAD_CHUNK`, so inference runs in parallel across
workers whatever the number of files.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.metrics import Metrics
from apache_beam.ml.inference.base import RunInference
from apache_beam.options.pipeline_options import StandardOptions
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.windowed_value import WindowedValue

from trt_text_classifier.dataflow.accelerator_syntax import uses_nvidia_mps
from trt_text_classifier.errors import one_line
from trt_text_classifier.io import bigquery, pubsub, windowed_files
from trt_text_classifier.io.json_lines import ParseJsonLines
from trt_text_classifier.io.json_records import JsonRecordFormat
from trt_text_classifier.io.text_files import UndecodableLine, read_lines
from trt_text_classifier.launch.options import is_local_runner
from trt_text_classifier.launch.parameters import OUTPUT_SUFFIX, InputFormat, PipelineParameters
from trt_text_classifier.records import METRICS_NAMESPACE, DeadLetter, Prediction, TextRecord
from trt_text_classifier.serving.handler import (
    ClassifierLoader,
    FormedBatchesHandler,
    TextClassificationModelHandler,
    inference_dead_letter,
)

DEAD_LETTERS = "dead_letters"
LENGTH_ORDER_BATCHES = 16
"""Batch jobs sort records by length in windows of this many batches."""
MAX_PADDING_RATIO = 2
"""A formed batch's longest record has at most this many times the tokens of its shortest."""
SPREAD_CHUNK = 1024
"""Records per element through the batch job's Reshuffle, whose cost is per element (the
local runner groups every element in one Python process; Dataflow's shuffle per element)."""


class ReadLines(beam.DoFn):
    """Reads one matched file line by line into lists of `TextRecord`s (see `input_lines`).

    Records leave in lists of at most `chunk_size` consecutive lines of a file
    (the rest at its end): the Reshuffle that spreads them over workers, and
    every step after it, then moves a thousand times fewer elements.

    Compressed files (.gz, .bz2, .zst, ...) are decompressed by Beam, chosen by
    the file's extension. Blank lines are counted and skipped. A line that
    cannot be decoded goes to the `dead_letters` output (stage "decode"). A
    file that fails part-way (a corrupt archive) gives one dead letter (id
    PATH, stage "read") after the lines read so far; the other files go on. A
    file whose name is not valid UTF-8 gives a dead letter per line (stage
    "read", its id the name with the invalid bytes escaped as \\xNN).
    """

    def __init__(self, chunk_size: int = SPREAD_CHUNK) -> None:
        self._chunk_size = chunk_size
        self._records = Metrics.counter(METRICS_NAMESPACE, "records_read")
        self._blank_lines = Metrics.counter(METRICS_NAMESPACE, "blank_lines")
        self._undecodable = Metrics.counter(METRICS_NAMESPACE, "undecodable_lines")
        self._unreadable = Metrics.counter(METRICS_NAMESPACE, "unreadable_files")

    def process(self, readable_file: fileio.ReadableFile) -> Iterator[object]:
        path = readable_file.metadata.path
        printable = escape_file_name(path)
        number = 0
        chunk: list[TextRecord] = []
        try:
            with readable_file.open() as handle:
                for number, line in read_lines(handle):
                    output = self._record(f"{printable}:{number}", line, printable != path)
                    if isinstance(output, TextRecord):
                        chunk.append(output)
                        if len(chunk) >= self._chunk_size:
                            yield chunk
                            chunk = []
                    elif output is not None:
                        yield output
        except Exception as error:  # a corrupt archive raises zlib.error, ZstdError, OSError, ...
            if chunk:
                yield chunk
                chunk = []
            self._unreadable.inc()
            yield beam.pvalue.TaggedOutput(
                DEAD_LETTERS,
                DeadLetter(
                    printable,
                    "",
                    f"the file could not be read after line {number} ({one_line(error)}); "
                    "lines before it were read, the rest of the file was not",
                    "read",
                ),
            )
        if chunk:
            yield chunk

    def _record(self, record_id: str, line: str | UndecodableLine, bad_name: bool) -> object:
        """The record, or its dead letter, or None for a blank line (no generator: hot path)."""
        if isinstance(line, UndecodableLine):
            self._undecodable.inc()
            return beam.pvalue.TaggedOutput(
                DEAD_LETTERS, DeadLetter(record_id, line.escaped(), line.reason, "decode")
            )
        if not line.strip():
            self._blank_lines.inc()
            return None
        if bad_name:
            return beam.pvalue.TaggedOutput(
                DEAD_LETTERS,
                DeadLetter(
                    record_id,
                    line,
                    "the file name is not valid UTF-8, so no output could name this record; "
                    "rename the file",
                    "read",
                ),
            )
        self._records.inc()
        return TextRecord(record_id, line)


def escape_file_name(path: str) -> str:
    """`path` with bytes that are not UTF-8 (held as lone surrogates) written as \\xNN."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return path.encode("utf-8", errors="surrogateescape").decode(
            "utf-8", errors="backslashreplace"
        )
    return path


TokenCounter = Callable[[Sequence[str]], Sequence[int]]
"""texts -> tokens per text, as the model's tokenizer counts them."""


Item = TypeVar("Item")


def records_of(chunk: list[Item]) -> list[Item]:
    """A list's items, one element each (for steps that need one element per item)."""
    return chunk


class OrderByLength(beam.DoFn):
    """Lists of records in, batches of records of similar token count out (batch jobs).

    The handler pads each batch to its longest record. Holding at least
    `window_batches` batches' worth of records (it takes whole lists, e.g.
    `ReadLines`'s chunks), sorting them by the number of tokens the model will
    see and cutting the sorted window into batches of `batch_size` makes the
    records of a batch equal in length, so padding stays small. A batch also
    ends before a record with more than `MAX_PADDING_RATIO` times the tokens of
    the batch's shortest (a small job's one window spans every length; Beam's
    adaptive batching, which this replaces, began with small batches). Each batch leaves as one
    element (a list), and stays one element through inference and output
    (`FormedBatchesHandler`): Beam's per-element work is paid per batch. The
    last window of a bundle may give one shorter batch. Memory is bounded by
    `batch_size * window_batches` records plus one list.

    Counting tokens is the records' one tokenizer pass: the handler pads the
    encodings it made (`BatchTokenizer.count_tokens` keeps them) instead of
    tokenizing the batch again. Characters are a poor proxy (punctuation,
    rare words and non-Latin scripts split into several pieces) and left a
    fifth of every batch as padding in the benchmark.

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
            yield WindowedValue(batch, window.max_timestamp(), [window])

    def _release(self) -> list[list[TextRecord]]:
        if not self._window:
            return []
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
    return handler.load_tokenizer().count_tokens


def failed_batch_to_dead_letters(failure: tuple[object, object]) -> Iterator[DeadLetter]:
    """RunInference reports a failed batch as (batch, exception): one dead letter per record."""
    batch, error = failure
    for record in batch:
        yield inference_dead_letter(record, error)


def separate_failed_records(result: Prediction | DeadLetter) -> Iterator[object]:
    """Records that failed alone (the handler's `isolate_failures`) leave as dead letters."""
    if isinstance(result, DeadLetter):
        yield beam.pvalue.TaggedOutput(DEAD_LETTERS, result)
    else:
        yield result


def separate_failed_records_of_batch(results: list[Prediction | DeadLetter]) -> Iterator[object]:
    """A batch's predictions as one list; its records that failed alone, one dead letter each."""
    failed = [result for result in results if isinstance(result, DeadLetter)]
    if not failed:
        yield results
        return
    predictions = [result for result in results if not isinstance(result, DeadLetter)]
    if predictions:
        yield predictions
    for dead_letter in failed:
        yield beam.pvalue.TaggedOutput(DEAD_LETTERS, dead_letter)


@dataclass(frozen=True)
class PipelineOutputs:
    """The graph's outputs. `predictions` holds lists of `Prediction`s (one per batch) in
    batch jobs and single `Prediction`s in streaming jobs; `dead_letters` single `DeadLetter`s."""

    predictions: beam.PCollection
    dead_letters: beam.PCollection


def make_handler(
    params: PipelineParameters, loader: ClassifierLoader | None = None
) -> TextClassificationModelHandler:
    """The handler the parameters describe; `loader` replaces how the model loads (tests)."""
    return TextClassificationModelHandler(
        params.model_path,
        tokenizer=params.tokenizer,
        max_seq_length=params.max_seq_length,
        min_batch_size=params.min_batch_size,
        max_batch_size=params.max_batch_size,
        max_batch_duration_secs=params.batch_duration_secs,
        # One engine per worker VM serves all its SDK processes; with use_nvidia_mps each
        # process loads its own and MPS shares the GPU between them (launch checks they fit).
        share_across_processes=params.engine_path is not None
        and not uses_nvidia_mps(params.accelerator),
        backend="onnxruntime" if params.onnx_path else "tensorrt",
        loader=loader,
        isolate_failures=True,
        threshold=params.threshold,
    )


def run_inference(
    handler: TextClassificationModelHandler, params: PipelineParameters, *, local_runner: bool
) -> RunInference:
    """RunInference for the handler, watching `model_watch_pattern` for new models if given.

    Where `forms_batches`, the handler runs over the batches `OrderByLength`
    formed (`FormedBatchesHandler`); otherwise Beam batches records.

    On Dataflow (and any runner that delivers a triggered global-window side
    input) Beam's `WatchFilePattern` side input feeds new files to the
    handler's `update_model_path`. The local DirectRunner blocks on such a
    side input forever in streaming mode, so there the handler watches the
    pattern itself, through the same `update_model_path`.
    """
    model_handler = FormedBatchesHandler(handler) if forms_batches(params) else handler
    pattern = params.model_watch_pattern
    if pattern is None:
        return RunInference(model_handler)
    interval = params.watch_interval_secs
    handler.watch_models(pattern, interval, poll=local_runner)
    if local_runner:
        return RunInference(model_handler)
    return RunInference(model_handler, watch_model_pattern=pattern, interval=interval)


def forms_batches(params: PipelineParameters) -> bool:
    """Batch jobs without a batch wait: `OrderByLength` forms the batches, one element each."""
    return params.batch_duration_secs is None


def classify(
    records: beam.PCollection,
    handler: TextClassificationModelHandler,
    *,
    order_by_length: bool,
    inference: RunInference | None = None,
) -> tuple[beam.PCollection, beam.PCollection]:
    """RunInference with exception handling: (predictions, dead letters).

    With `order_by_length`, `OrderByLength` forms the batches and predictions
    come out as one list per batch (see `classify_formed_batches`); otherwise
    Beam batches the records and predictions come out one per element.

    A failing batch is retried record by record inside the handler, so only
    the records that fail alone become dead letters; a batch that fails in a
    way the handler cannot isolate (model load, a crash) dead-letters all its
    records through RunInference's own failure output. `inference` is the
    RunInference transform of `handler` (default: a plain one, see `run_inference`).
    """
    if order_by_length:
        return classify_formed_batches(records, handler, inference)
    inference = inference or RunInference(handler)
    results, failures = records | "RunInference" >> inference.with_exception_handling()
    separated = results | "SeparateFailedRecords" >> beam.FlatMap(
        separate_failed_records
    ).with_outputs(DEAD_LETTERS, main="predictions")
    return separated.predictions, inference_dead_letters(separated[DEAD_LETTERS], failures)


def classify_formed_batches(
    records: beam.PCollection,
    handler: TextClassificationModelHandler,
    inference: RunInference | None,
) -> tuple[beam.PCollection, beam.PCollection]:
    """(lists of predictions, one per batch; dead letters) with batches formed by length."""
    batch_size = handler.batch_elements_kwargs().get("max_batch_size", 64)
    batches = records | "OrderByLength" >> beam.ParDo(
        OrderByLength(
            batch_size, LENGTH_ORDER_BATCHES, functools.partial(load_token_counter, handler)
        )
    )
    inference = inference or RunInference(FormedBatchesHandler(handler))
    results, failures = batches | "RunInference" >> inference.with_exception_handling()
    separated = results | "SeparateFailedRecords" >> beam.FlatMap(
        separate_failed_records_of_batch
    ).with_outputs(DEAD_LETTERS, main="predictions")
    return separated.predictions, inference_dead_letters(separated[DEAD_LETTERS], failures)


def inference_dead_letters(
    failed_records: beam.PCollection, failures: beam.pvalue.DoOutputsTuple
) -> beam.PCollection:
    """Records that failed alone, and every record of batches that failed as a whole."""
    failed_batches = failures.failed_inferences | "FailedBatches" >> beam.FlatMap(
        failed_batch_to_dead_letters
    )
    return (failed_records, failed_batches) | "InferenceDeadLetters" >> beam.Flatten()


def write_json_lines(
    pcoll: beam.PCollection,
    prefix: str,
    label: str,
    params: PipelineParameters,
    *,
    in_lists: bool = False,
) -> None:
    """Batch: one set of shards at the end. Streaming: one set per window (`windowed_files`).

    With `in_lists`, each element is a non-empty list of items, written as one
    string of lines: one JSON object per line (JSON escapes newlines in strings).
    """
    if params.streaming:
        windowed_files.write_windowed_json_lines(
            pcoll, prefix, params.file_window_secs, label, OUTPUT_SUFFIX
        )
        return
    to_json = json_lines_of if in_lists else json_line_of
    _ = (
        pcoll
        | f"{label}ToJson" >> beam.Map(to_json)
        | f"Write{label}" >> beam.io.WriteToText(prefix, file_name_suffix=OUTPUT_SUFFIX)
    )


def json_line_of(item: Prediction | DeadLetter) -> str:
    return item.to_json()


def json_lines_of(items: list[Prediction | DeadLetter]) -> str:
    """The items as JSON lines in one string (WriteToText adds the last newline)."""
    return "\n".join([item.to_json() for item in items])


def counted(pcoll: beam.PCollection, label: str, *, in_lists: bool = False) -> beam.PCollection:
    """`pcoll` unchanged, counted once as `LABEL_written` whatever the number of sinks.

    With `in_lists`, each element is a list and every item of it counts.
    """
    counter = Metrics.counter(METRICS_NAMESPACE, f"{label}_written")

    def count(item: Prediction | DeadLetter) -> Prediction | DeadLetter:
        counter.inc()
        return item

    def count_list(items: list[Prediction | DeadLetter]) -> list[Prediction | DeadLetter]:
        counter.inc(len(items))
        return items

    return pcoll | f"Count{label}" >> beam.Map(count_list if in_lists else count)


def read_files(pipeline: beam.Pipeline, pattern: str) -> tuple[beam.PCollection, beam.PCollection]:
    """(lists of records, undecodable lines as dead letters) from the files matching `pattern`."""
    read = (
        pipeline
        | "MatchInput" >> fileio.MatchFiles(pattern)
        | "OpenFiles" >> fileio.ReadMatches()
        | "ReadLines" >> beam.ParDo(ReadLines()).with_outputs(DEAD_LETTERS, main="records")
    )
    chunks = read.records | "Spread" >> beam.Reshuffle()
    return chunks, read[DEAD_LETTERS]


def parse_json_lines(
    lines: beam.PCollection, record_format: JsonRecordFormat
) -> tuple[beam.PCollection, beam.PCollection]:
    """(lists of records, lines that hold no JSON record as dead letters) for `--input_format=jsonl`.

    Runs after the reshuffle, so parsing is spread over workers like inference.
    """
    parsed = lines | "ParseJsonLines" >> beam.ParDo(
        ParseJsonLines(record_format, DEAD_LETTERS)
    ).with_outputs(DEAD_LETTERS, main="records")
    return parsed.records, parsed[DEAD_LETTERS]


def read_messages(
    pipeline: beam.Pipeline, subscription: str, record_format: JsonRecordFormat
) -> tuple[beam.PCollection, beam.PCollection]:
    """(records, malformed messages as dead letters) from a Pub/Sub subscription."""
    read = pubsub.read_subscription(pipeline, subscription, DEAD_LETTERS, record_format)
    return read.records, read[DEAD_LETTERS]


def read_input(
    pipeline: beam.Pipeline, params: PipelineParameters
) -> tuple[beam.PCollection, beam.PCollection]:
    """(records, unreadable input as dead letters) from the input the parameters name.

    Files give lists of records (`ReadLines`'s chunks), a subscription single records.
    """
    record_format = JsonRecordFormat(params.text_field, params.id_field)
    if params.input_subscription:
        return read_messages(pipeline, params.input_subscription, record_format)
    records, undecodable = read_files(pipeline, params.input or "")
    if params.input_format is InputFormat.TEXT:
        return records, undecodable
    records, malformed = parse_json_lines(records, record_format)
    return records, (undecodable, malformed) | "UnreadableLines" >> beam.Flatten()


def write_predictions(
    predictions: beam.PCollection, params: PipelineParameters, *, in_lists: bool = False
) -> list[beam.PCollection]:
    """Write to every output given; return dead letters of rows an output rejected.

    With `in_lists` (batch jobs, see `forms_batches`) each element is a list of
    predictions; only the sinks that need one element per prediction get them.
    """
    predictions = counted(predictions, "predictions", in_lists=in_lists)
    rejected: list[beam.PCollection] = []
    if params.output:
        write_json_lines(predictions, params.output, "predictions", params, in_lists=in_lists)
    if params.output_topic:
        pubsub.publish(predictions, params.output_topic, "predictions")
    if params.output_table:
        if in_lists:
            predictions = predictions | "OnePredictionPerElement" >> beam.FlatMap(records_of)
        rejected_rows = bigquery.write_predictions(
            predictions, params.output_table, streaming=params.streaming
        )
        if rejected_rows is not None:
            rejected.append(rejected_rows)
    return rejected


def write_dead_letters(dead_letters: beam.PCollection, params: PipelineParameters) -> None:
    dead_letters = counted(dead_letters, "dead_letters")
    if params.dead_letter_topic:
        pubsub.publish(dead_letters, params.dead_letter_topic, "dead_letters")
    if params.dead_letter_output or not params.dead_letter_topic:
        write_json_lines(dead_letters, params.resolved_dead_letter_output, "dead_letters", params)


def build_pipeline(
    pipeline: beam.Pipeline,
    params: PipelineParameters,
    handler: TextClassificationModelHandler | None = None,
) -> PipelineOutputs:
    """Add the whole graph to `pipeline` and return its two outputs.

    `handler` defaults to the one the parameters describe (tests pass their own).
    """
    records, unreadable = read_input(pipeline, params)
    handler = handler or make_handler(params)
    local_runner = is_local_runner(pipeline.options.view_as(StandardOptions).runner)
    in_lists = forms_batches(params)
    if not params.streaming and not in_lists:  # Beam batches records: one element each
        records = records | "Unchunk" >> beam.FlatMap(records_of)
    predictions, failed = classify(
        records,
        handler,
        order_by_length=in_lists,
        inference=run_inference(handler, params, local_runner=local_runner),
    )
    rejected = write_predictions(predictions, params, in_lists=in_lists)
    dead_letters = (unreadable, failed, *rejected) | "AllDeadLetters" >> beam.Flatten()
    write_dead_letters(dead_letters, params)
    return PipelineOutputs(predictions, dead_letters)
