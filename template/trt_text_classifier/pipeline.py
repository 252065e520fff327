"""The pipeline graph: read text, classify it, write predictions and dead letters.

Composition only: the steps live in `io/` (sources and sinks) and `serving/` (inference);
this module picks them from the parameters and wires them together.

Batch (--input):

    files, spread over workers (a Reshuffle)
      |
      +----> ReadLines -> Reshuffle [-> ParseJsonLines] -> OrderByLength -> RunInference
               |                          |                                   |
               |                          |               JSON -> output, BigQuery
               +-- undecodable lines --+--+-- malformed JSON records    failed records,
                                       |                              unencodable predictions
                                       v                                      v
                                 dead letters (JSON) -> dead_letter_output <--+

The first Reshuffle spreads the files over workers, the second the records of each file
(`io/text_files.read_files`). A branch of its own, `LoadModelEarly`, starts loading the
model while the files are read, so RunInference's stage finds it loaded.

Records travel in lists, not one per Beam element: `ReadLines` emits chunks of records,
`OrderByLength` turns them into batches, RunInference classifies each batch as formed
(`FormedBatchesHandler`) and its predictions stay one list through counting and JSON
encoding; only BigQuery gets one element per prediction. Beam's work per element is paid
per list. (With `max_batch_duration_secs` set, a batch job lets Beam batch single records.)

Streaming (--input_subscription):

    Pub/Sub -> ParseMessages -> RunInference (stateful batching, length-bucketed,
                  |              max_batch_duration_secs) -> output_topic / BigQuery
                  |                                          / windowed files (output)
                  +-- malformed messages, failed batches, unencodable predictions,
                      rejected rows
                        -> dead_letter_topic, or windowed files

Invariant: every non-blank input line (every message) ends as exactly one prediction or
exactly one dead letter.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import apache_beam as beam
from apache_beam.options.pipeline_options import StandardOptions

from trt_text_classifier.dataflow.accelerator_syntax import uses_nvidia_mps
from trt_text_classifier.io import bigquery, pubsub
from trt_text_classifier.io.json_lines import parse_json_lines
from trt_text_classifier.io.json_records import JsonRecordFormat
from trt_text_classifier.io.sinks import counted, each_item, write_json_lines
from trt_text_classifier.io.text_files import read_files
from trt_text_classifier.launch.batch_size import effective_max_batch_size
from trt_text_classifier.launch.options import is_local_runner
from trt_text_classifier.launch.parameters import PipelineParameters
from trt_text_classifier.launch.record_fields import InputFormat
from trt_text_classifier.records import DEAD_LETTERS
from trt_text_classifier.serving.early_loading import LoadModelEarly
from trt_text_classifier.serving.handler import TextClassificationModelHandler
from trt_text_classifier.serving.inference import classify, run_inference
from trt_text_classifier.serving.shared_backend import ClassifierLoader


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
    tensorrt = params.engine_path is not None or params.engine_cache is not None
    if loader is None and params.engine_cache is not None:
        loader = engine_cache_loader(params)
    return TextClassificationModelHandler(
        params.model_path,
        tokenizer=params.tokenizer,
        max_seq_length=params.max_seq_length,
        min_batch_size=params.min_batch_size,
        max_batch_size=effective_max_batch_size(params),
        max_batch_duration_secs=params.batch_duration_secs,
        # One engine per worker VM serves all its SDK processes; with use_nvidia_mps each
        # process loads its own and MPS shares the GPU between them (launch checks they fit).
        share_across_processes=tensorrt and not uses_nvidia_mps(params.accelerator),
        backend="onnxruntime" if params.onnx_path else "tensorrt",
        loader=loader,
        isolate_failures=True,
        threshold=params.threshold,
    )


def engine_cache_loader(params: PipelineParameters) -> ClassifierLoader:
    """--onnx_path + --engine_cache: the worker gets the engine for its GPU from the cache
    (building it when it is the first) and serves it with TensorRT.

    The builder is the model tooling's, handed to serving here: serving never imports it.
    """
    from trt_text_classifier.model_tooling.engine_build import CacheBuilder
    from trt_text_classifier.serving.engine_cache_key import worker_build_settings
    from trt_text_classifier.serving.loading import load_cached_engine_classifier

    return functools.partial(
        load_cached_engine_classifier,
        engine_cache=params.engine_cache or "",
        settings=worker_build_settings(effective_max_batch_size(params), params.max_seq_length),
        builder=CacheBuilder(),
    )


def forms_batches(params: PipelineParameters) -> bool:
    """Batch jobs without a batch wait: `OrderByLength` forms the batches, one element each."""
    return params.batch_duration_secs is None


def window_secs(params: PipelineParameters) -> int | None:
    """Streaming jobs write files per window of this many seconds; batch jobs write once."""
    return params.file_window_secs if params.streaming else None


def read_input(
    pipeline: beam.Pipeline, params: PipelineParameters
) -> tuple[beam.PCollection, beam.PCollection]:
    """(records, unreadable input as dead letters) from the input the parameters name.

    Files give lists of records (`ReadLines`'s chunks), a subscription single records.
    """
    record_format = JsonRecordFormat(params.text_field, params.id_field)
    if params.input_subscription:
        read = pubsub.read_subscription(
            pipeline, params.input_subscription, DEAD_LETTERS, record_format
        )
        return read.records, read[DEAD_LETTERS]
    records, undecodable = read_files(pipeline, params.input or "")
    if params.input_format is InputFormat.TEXT:
        return records, undecodable
    records, malformed = parse_json_lines(records, record_format)
    return records, (undecodable, malformed) | "UnreadableLines" >> beam.Flatten()


def write_predictions(
    predictions: beam.PCollection, params: PipelineParameters, *, in_lists: bool = False
) -> list[beam.PCollection]:
    """Write to every output given; return dead letters of predictions an output could not
    take: those that could not be encoded as JSON, and rows BigQuery rejected.

    With `in_lists` (batch jobs, see `forms_batches`) each element is a list of
    predictions; only the sinks that need one element per prediction get them.
    The files and the topic encode the same JSON, so the same predictions fail in both:
    their dead letters are taken from one of them, once.
    """
    predictions = counted(predictions, "predictions", in_lists=in_lists)
    rejected: list[beam.PCollection] = []
    unencodable: list[beam.PCollection] = []
    if params.output:
        unencodable.append(
            write_json_lines(
                predictions,
                params.output,
                "predictions",
                run_id=params.run_id,
                window_secs=window_secs(params),
                in_lists=in_lists,
            )
        )
    if params.output_topic:
        unencodable.append(pubsub.publish(predictions, params.output_topic, "predictions"))
    rejected.extend(unencodable[:1])
    if params.output_table:
        if in_lists:
            predictions = predictions | "OnePredictionPerElement" >> beam.FlatMap(each_item)
        rejected_rows = bigquery.write_predictions(
            predictions, params.output_table, streaming=params.streaming
        )
        if rejected_rows is not None:
            rejected.append(rejected_rows)
    return rejected


def write_dead_letters(dead_letters: beam.PCollection, params: PipelineParameters) -> None:
    """Dead letters always encode (`DeadLetter.to_json`): the sinks' own dead-letter
    outputs stay empty."""
    dead_letters = counted(dead_letters, "dead_letters")
    if params.dead_letter_topic:
        _ = pubsub.publish(dead_letters, params.dead_letter_topic, "dead_letters")
    if params.dead_letter_output or not params.dead_letter_topic:
        prefix = params.resolved_dead_letter_output
        _ = write_json_lines(
            dead_letters,
            prefix,
            "dead_letters",
            run_id=params.run_id,
            window_secs=window_secs(params),
        )


def build_pipeline(
    pipeline: beam.Pipeline,
    params: PipelineParameters,
    handler: TextClassificationModelHandler | None = None,
) -> PipelineOutputs:
    """Add the whole graph to `pipeline` and return its two outputs.

    `handler` defaults to the one the parameters describe (tests pass their own).
    """
    handler = handler or make_handler(params)
    if not params.streaming:
        _ = pipeline | "LoadModelEarly" >> LoadModelEarly(handler)
    records, unreadable = read_input(pipeline, params)
    local_runner = is_local_runner(pipeline.options.view_as(StandardOptions).runner)
    in_lists = forms_batches(params)
    if not params.streaming and not in_lists:  # Beam batches records: one element each
        records = records | "Unchunk" >> beam.FlatMap(each_item)
    inference = run_inference(
        handler,
        formed_batches=in_lists,
        watch_pattern=params.model_watch_pattern,
        watch_interval_secs=params.watch_interval_secs,
        local_runner=local_runner,
    )
    predictions, failed = classify(records, handler, inference, formed_batches=in_lists)
    rejected = write_predictions(predictions, params, in_lists=in_lists)
    dead_letters = (unreadable, failed, *rejected) | "AllDeadLetters" >> beam.Flatten()
    write_dead_letters(dead_letters, params)
    return PipelineOutputs(predictions, dead_letters)
