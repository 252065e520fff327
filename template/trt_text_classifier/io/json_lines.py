"""JSON Lines input (`--input_format=jsonl`): each line that `text_files.ReadLines` read is one JSON record.

Line reading (line endings, byte-order marks, decoding, blank lines) stays in
`ReadLines`; this step only turns a line's text into a record with
`json_records`, keeping the line's `PATH:LINE` id as the default id. A line
that holds no record (not JSON, not an object, no usable text) becomes one
dead letter with stage `parse`, the whole line as its `input`, and the
record's other fields when it was an object.
"""

from __future__ import annotations

from collections.abc import Iterator

import apache_beam as beam
from apache_beam.metrics import Metrics

from trt_text_classifier.io.json_records import (
    JsonRecordFormat,
    RecordFormatError,
    parse_record,
)
from trt_text_classifier.records import (
    DEAD_LETTERS,
    METRICS_NAMESPACE,
    DeadLetter,
    RecordFailure,
    TextRecord,
    per_record,
)

PARSE_STAGE = "parse"


class ParseJsonLines(beam.DoFn):
    """Lists of line records -> lists of their JSON records; malformed lines to `dead_letters_tag`.

    Takes and gives lists (`text_files.ReadLines`'s chunks), so that Beam's work
    per element is paid per list, not per line.
    """

    def __init__(self, record_format: JsonRecordFormat, dead_letters_tag: str) -> None:
        self._record_format = record_format
        self._dead_letters_tag = dead_letters_tag
        self._malformed = Metrics.counter(METRICS_NAMESPACE, "malformed_records")

    def process(self, lines: list[TextRecord]) -> Iterator[object]:
        records: list[TextRecord] = []
        for line in lines:
            record = per_record(
                lambda line=line: self._parse(line),  # type: ignore[misc]
                record_id=line.id,
                record=line.text,
                stage=PARSE_STAGE,
            )
            if isinstance(record, DeadLetter):
                self._malformed.inc()
                yield beam.pvalue.TaggedOutput(self._dead_letters_tag, record)
            else:
                records.append(record)
        if records:
            yield records

    def _parse(self, line: TextRecord) -> TextRecord:
        try:
            return parse_record(line.text, "line", line.id, self._record_format)
        except RecordFormatError as error:
            raise RecordFailure(
                DeadLetter(
                    error.record_id or line.id, line.text, str(error), PARSE_STAGE, error.fields
                )
            ) from None


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
