"""What every sink of the pipeline shares: counting what it writes, JSON Lines files."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import apache_beam as beam
from apache_beam.metrics import Metrics

from trt_text_classifier.io import windowed_files
from trt_text_classifier.io.output_naming import OUTPUT_SUFFIX, run_prefix
from trt_text_classifier.records import (
    DEAD_LETTERS,
    METRICS_NAMESPACE,
    DeadLetter,
    Prediction,
    per_record,
)

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
) -> beam.PCollection:
    """Batch: one set of shards at the end. Streaming (`window_secs`): one set per window.

    Files are named PREFIX-RUNID-...: Beam's sink deletes and stages only names
    that carry `run_id`, so a run never touches another run's files.
    With `in_lists`, each element is a non-empty list of items, written as one
    string of lines: one JSON object per line (JSON escapes newlines in strings).
    Returns the dead letters of the predictions that could not be encoded (`encode_each`).
    """
    lines, unencodable = encode_each(
        pcoll, f"{label}ToJson", json_line_of, join="\n".join if in_lists else None
    )
    if window_secs is not None:
        windowed_files.write_windowed_json_lines(
            lines, run_prefix(prefix, run_id), window_secs, label, OUTPUT_SUFFIX
        )
        return unencodable
    _ = lines | f"Write{label}" >> beam.io.WriteToText(
        run_prefix(prefix, run_id), file_name_suffix=OUTPUT_SUFFIX
    )
    return unencodable


Encoded = TypeVar("Encoded")


def encode_or_dead_letter(
    encode: Callable[[Prediction | DeadLetter], Encoded], item: Prediction | DeadLetter
) -> Encoded | DeadLetter:
    """`encode(item)`, or for a prediction that cannot be encoded its dead letter (stage
    "encode"). A dead letter is encoded as is: its encoding never fails (`DeadLetter.to_json`)."""
    if isinstance(item, DeadLetter):
        return encode(item)
    return per_record(
        lambda: encode(item),
        record_id=item.id,
        record=item.text,
        stage="encode",
        fields=item.fields,
        attributes=item.attributes,
    )


class EncodeEach(beam.DoFn):
    """Predictions and dead letters -> what a sink writes; unencodable predictions -> `DEAD_LETTERS`.

    `encode` writes one item and raises when it cannot. With `join`, each element is a list
    of items, encoded one by one and joined into one output (a list whose items all failed
    gives none).
    """

    def __init__(
        self,
        encode: Callable[[Prediction | DeadLetter], Any],
        join: Callable[[list[Any]], Any] | None = None,
    ) -> None:
        self._encode = encode
        self._join = join

    def process(self, element: Any) -> Iterator[object]:
        items = element if self._join is not None else [element]
        encoded = []
        for item in items:
            result = encode_or_dead_letter(self._encode, item)
            if isinstance(result, DeadLetter):
                yield beam.pvalue.TaggedOutput(DEAD_LETTERS, result)
            else:
                encoded.append(result)
        if self._join is None:
            yield from encoded
        elif encoded:
            yield self._join(encoded)


def encode_each(
    pcoll: beam.PCollection,
    label: str,
    encode: Callable[[Prediction | DeadLetter], Any],
    *,
    join: Callable[[list[Any]], Any] | None = None,
) -> tuple[beam.PCollection, beam.PCollection]:
    """(encoded items, dead letters of the predictions that could not be encoded).

    The one encode step of every sink (JSON Lines files, Pub/Sub messages): a prediction
    that cannot be encoded goes to the dead-letter output, never into the sink's output.
    """
    outputs = pcoll | label >> beam.ParDo(EncodeEach(encode, join)).with_outputs(
        DEAD_LETTERS, main="encoded"
    )
    return outputs.encoded, outputs[DEAD_LETTERS]


def json_line_of(item: Prediction | DeadLetter) -> str:
    """The item as one JSON line that UTF-8 can carry.

    A dead letter always encodes (`DeadLetter.to_json` escapes what it must). A prediction
    that cannot be encoded (a lone surrogate, nesting too deep) raises: `encode_each` turns
    it into its dead letter (stage "encode") on the dead-letter output.
    """
    line = item.to_json()
    line.encode("utf-8")
    return line


def json_lines_of(items: list[Prediction | DeadLetter]) -> str:
    """The items as JSON lines in one string (WriteToText adds the last newline); raises
    like `json_line_of` (sinks use `encode_each`, which keeps the items that encode)."""
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
