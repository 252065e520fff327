"""RunInference with every failure turned into dead letters: `run_inference`, `classify`.

A failing batch is retried record by record inside the handler (`isolate_failures`), so only
the records that fail alone become dead letters; a batch that fails in a way the handler
cannot isolate (model load, a crash) dead-letters all its records through RunInference's own
failure output.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import apache_beam as beam
from apache_beam.ml.inference.base import RunInference

from trt_text_classifier.records import DEAD_LETTERS, DeadLetter, Prediction, TextRecord
from trt_text_classifier.serving.batch_sizes import length_order_batches
from trt_text_classifier.serving.formed_batches import FormedBatchesHandler
from trt_text_classifier.serving.handler import (
    TextClassificationModelHandler,
    inference_dead_letter,
)
from trt_text_classifier.serving.length_ordering import (
    LENGTH_ORDER_BATCHES,
    OrderByLength,
    load_token_counter,
)


def run_inference(
    handler: TextClassificationModelHandler,
    *,
    formed_batches: bool,
    watch_pattern: str | None = None,
    watch_interval_secs: float = 60.0,
    local_runner: bool = False,
) -> RunInference:
    """RunInference for the handler, watching `watch_pattern` for new models if given.

    With `formed_batches`, the handler runs over the batches `OrderByLength`
    formed (`FormedBatchesHandler`); otherwise Beam batches records.

    On Dataflow (and any runner that delivers a triggered global-window side
    input) Beam's `WatchFilePattern` side input feeds new files to the
    handler's `update_model_path`. The local DirectRunner blocks on such a
    side input forever in streaming mode, so there the handler watches the
    pattern itself, through the same `update_model_path`.
    """
    model_handler = FormedBatchesHandler(handler) if formed_batches else handler
    if watch_pattern is None:
        return RunInference(model_handler)
    handler.watch_models(watch_pattern, watch_interval_secs, poll=local_runner)
    if local_runner:
        return RunInference(model_handler)
    return RunInference(
        model_handler, watch_model_pattern=watch_pattern, interval=watch_interval_secs
    )


def classify(
    records: beam.PCollection,
    handler: TextClassificationModelHandler,
    inference: RunInference,
    *,
    formed_batches: bool,
) -> tuple[beam.PCollection, beam.PCollection]:
    """(predictions, dead letters) of `records`, classified by `inference` (of `handler`).

    With `formed_batches`, `records` holds lists of records, `OrderByLength` forms the
    batches and predictions come out as one list per batch; otherwise Beam batches the
    records and predictions come out one per element.
    """
    separate: Callable[[Any], Iterator[object]] = separate_failed_records
    if formed_batches:
        batch_size = handler.batch_elements_kwargs().get("max_batch_size", 64)
        token_counter = functools.partial(load_token_counter, handler)
        records = records | "OrderByLength" >> beam.ParDo(
            OrderByLength(
                batch_size, length_order_batches(batch_size, LENGTH_ORDER_BATCHES), token_counter
            )
        )
        separate = separate_failed_records_of_batch
    results, failures = records | "RunInference" >> inference.with_exception_handling()
    separated = results | "SeparateFailedRecords" >> beam.FlatMap(separate).with_outputs(
        DEAD_LETTERS, main="predictions"
    )
    return separated.predictions, inference_dead_letters(separated[DEAD_LETTERS], failures)


def failed_batch_to_dead_letters(
    failure: tuple[Sequence[TextRecord], object],
) -> Iterator[DeadLetter]:
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


def inference_dead_letters(
    failed_records: beam.PCollection, failures: beam.pvalue.DoOutputsTuple
) -> beam.PCollection:
    """Records that failed alone, and every record of batches that failed as a whole."""
    failed_batches = failures.failed_inferences | "FailedBatches" >> beam.FlatMap(
        failed_batch_to_dead_letters
    )
    return (failed_records, failed_batches) | "InferenceDeadLetters" >> beam.Flatten()
