"""What every sink of the pipeline shares: counting what it writes, JSON Lines files."""

from __future__ import annotations

from typing import TypeVar

import apache_beam as beam
from apache_beam.metrics import Metrics

from trt_text_classifier.io import windowed_files
from trt_text_classifier.io.output_naming import OUTPUT_SUFFIX, run_prefix
from trt_text_classifier.records import METRICS_NAMESPACE, DeadLetter, Prediction, per_record

Item = TypeVar("Item")


def each_item(items: list[Item]) -> list[Item]:
    """For `beam.FlatMap`: a list's items, one element each (for sinks that need one per item)."""
    return items


def write_json_lines(
    pcoll: beam.PCollection,
    prefix: str,
    label: str,
    *,
    run_id: str,
    window_secs: int | None = None,
    in_lists: bool = False,
) -> None:
    """Batch: one set of shards at the end. Streaming (`window_secs`): one set per window.

    Files are named PREFIX-RUNID-...: Beam's sink deletes and stages only names
    that carry `run_id`, so a run never touches another run's files.
    With `in_lists`, each element is a non-empty list of items, written as one
    string of lines: one JSON object per line (JSON escapes newlines in strings).
    """
    if window_secs is not None:
        windowed_files.write_windowed_json_lines(
            pcoll, run_prefix(prefix, run_id), window_secs, label, OUTPUT_SUFFIX
        )
        return
    to_json = json_lines_of if in_lists else json_line_of
    _ = (
        pcoll
        | f"{label}ToJson" >> beam.Map(to_json)
        | f"Write{label}"
        >> beam.io.WriteToText(run_prefix(prefix, run_id), file_name_suffix=OUTPUT_SUFFIX)
    )


def json_line_of(item: Prediction | DeadLetter) -> str:
    """The item as one JSON line that UTF-8 can carry, whatever it holds.

    A dead letter always encodes (`DeadLetter.to_json` escapes what it must). A prediction
    that cannot be encoded (a lone surrogate, nesting too deep) is written as its dead
    letter (stage "encode") instead of failing the job.
    """
    if isinstance(item, DeadLetter):
        return item.to_json()
    line = per_record(
        lambda: _encodable(item.to_json()),
        record_id=item.id,
        record=item.text,
        stage="encode",
        fields=item.fields,
        attributes=item.attributes,
    )
    return line.to_json() if isinstance(line, DeadLetter) else line


def _encodable(line: str) -> str:
    line.encode("utf-8")
    return line


def json_lines_of(items: list[Prediction | DeadLetter]) -> str:
    """The items as JSON lines in one string (WriteToText adds the last newline)."""
    return "\n".join([json_line_of(item) for item in items])


def counted(pcoll: beam.PCollection, label: str, *, in_lists: bool = False) -> beam.PCollection:
    """`pcoll` unchanged, counted once as `LABEL_written` whatever the number of sinks.

    Files are named PREFIX-RUNID-...: Beam's sink deletes and stages only names
    that carry `run_id`, so a run never touches another run's files.
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
