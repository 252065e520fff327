"""The records that flow through the pipeline and the JSON they are written as.

Output schema (one JSON object per line):

    prediction:  {"id": str, "text": str, "label": str, "score": float,
                  "probabilities": {label: float, ...}, "model": str,
                  "fields": {...}}
                  (multi-label models add "labels": [label, ...] after "model")
    dead letter: {"id": str, "input": str, "error": str, "stage": str,
                  "fields": {...}}

`id` ties every output to its input; for files it is `PATH:LINE` (LINE
counted from 1, blank lines included), see `io/text_files.py`, unless a JSON
record names its own. `score` is the probability of `label`, the arg-max
class. Single-label models give a softmax over the labels (the
probabilities sum to 1); multi-label models (`problem_type:
multi_label_classification`) a sigmoid per label, and `labels` lists every
label at or above the threshold, in label order (possibly none). `model`
names the model that answered: its file name and the first 12 hex digits of
its SHA-256 (`model.onnx@3f2a9c1b7d0e`, see
`serving/loading.model_identity`). `fields` holds the input record's other JSON
fields, unchanged (`{}` for plain text), see `io/json_records.py`. A dead
letter's `input` is the record's text (or the whole line or message when it
could not be parsed), with invalid UTF-8 escaped as \\xNN when it could not be
decoded; `stage` says where it failed (read, decode, parse, tokenize, inference,
encode, bigquery). Every step that handles one record at a time runs it through
`per_record`, so whatever a record holds it ends as one prediction or one dead letter.

`attributes` (the Pub/Sub message attributes of a streaming record) travel
with a record to the messages published for it, not into the JSON body.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, NamedTuple, TypeVar

from trt_text_classifier.errors import one_line

METRICS_NAMESPACE = "trt_text_classifier"
"""The namespace of every Beam counter and distribution the pipeline reports."""
DEAD_LETTERS = "dead_letters"
"""The tag of every step's dead-letter output."""

NO_FIELDS: Mapping[str, Any] = {}
"""The default `fields` and `attributes`: shared, so never mutated."""

to_json_text = json.JSONEncoder(ensure_ascii=False).encode
"""`json.dumps(value, ensure_ascii=False)`, with one encoder made once instead of per call."""


class TextRecord(NamedTuple):
    """One piece of text to classify, the id that ties its result to it, and what travels along."""

    id: str
    text: str
    fields: Mapping[str, Any] = NO_FIELDS
    attributes: Mapping[str, str] = NO_FIELDS


class Prediction(NamedTuple):
    id: str
    text: str
    label: str
    score: float
    probabilities: dict[str, float]
    model: str
    fields: Mapping[str, Any] = NO_FIELDS
    attributes: Mapping[str, str] = NO_FIELDS
    labels: list[str] | None = None
    """Multi-label models only: every label whose probability is at or above the threshold."""

    def to_json(self) -> str:
        document = {
            "id": self.id,
            "text": self.text,
            "label": self.label,
            "score": self.score,
            "probabilities": self.probabilities,
            "model": self.model,
        }
        if self.labels is not None:
            document["labels"] = self.labels
        return with_fields(to_json_text(document), self.fields)


class DeadLetter(NamedTuple):
    """A record that produced no prediction, and why."""

    id: str
    input: str
    error: str
    stage: str
    fields: Mapping[str, Any] = NO_FIELDS
    attributes: Mapping[str, str] = NO_FIELDS

    def to_json(self) -> str:
        """The dead letter as one JSON line, never failing.

        When its text cannot be written as UTF-8 JSON (a lone surrogate, fields nested too
        deep for the encoder), every string is escaped (`escaped`) and fields that still
        cannot be written are replaced by `{}`: a dead letter is never lost.
        """
        try:
            line = self._json(self.id, self.input, self.error, self.fields)
            line.encode("utf-8")
        except Exception:  # RecursionError, UnicodeEncodeError, ...
            try:
                line = self._json(
                    escaped(self.id), escaped(self.input), escaped(self.error), self.fields
                )
                line.encode("utf-8")
            except Exception:
                error = f"{escaped(self.error)} (its fields could not be written as JSON)"
                line = self._json(escaped(self.id), escaped(self.input), error, NO_FIELDS)
        return line

    def _json(self, record_id: str, input: str, error: str, fields: Mapping[str, Any]) -> str:
        head = to_json_text({"id": record_id, "input": input, "error": error, "stage": self.stage})
        return with_fields(head, fields)


Result = TypeVar("Result")


def escaped(value: object) -> str:
    """`value` as text that any UTF-8 writer takes: lone surrogates (undecodable bytes held
    as U+DC80..U+DCFF, or unpaired `\\udXXX` JSON escapes) written out as `\\udXXX`."""
    text = value if isinstance(value, str) else repr(value)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", errors="backslashreplace").decode("utf-8")
    return text


def per_record(
    step: Callable[[], Result],
    *,
    record_id: str,
    record: object,
    stage: str,
    fields: Mapping[str, Any] = NO_FIELDS,
    attributes: Mapping[str, str] = NO_FIELDS,
) -> Result | DeadLetter:
    """Run one record's `step`; any failure of it becomes that record's `DeadLetter`.

    The one rule of every per-record step (decoding, parsing, field extraction,
    tokenizing, labelling, encoding): whatever a record holds, it fails alone.
    Any `Exception` (RecursionError and UnicodeError included) is caught; the dead
    letter's `input` is the record escaped so that it can always be written
    (`escaped`), its `error` one line naming the exception, its `stage` the step.
    A step that has a better dead letter to give raises `RecordFailure`.
    """
    try:
        return step()
    except RecordFailure as failure:
        return failure.dead_letter
    except Exception as error:  # the point: one record never fails the job
        return DeadLetter(
            escaped(record_id),
            escaped(record),
            one_line(error),
            stage,
            fields,
            attributes,
        )


class RecordFailure(Exception):
    """Raised inside a `per_record` step to give the record's own dead letter."""

    def __init__(self, dead_letter: DeadLetter) -> None:
        super().__init__(dead_letter.error)
        self.dead_letter = dead_letter


class JsonNumber(Decimal):
    """A JSON number as read: its exact value, and the text it was written with.

    Written back as that text (`6.02e23` stays `6.02e23`, not `6.02E+23`).
    """

    __slots__ = ("text",)
    text: str

    def __new__(cls, text: str) -> JsonNumber:
        number = super().__new__(cls, text)
        number.text = text
        return number

    def __reduce__(self) -> tuple[type[JsonNumber], tuple[str]]:
        return (JsonNumber, (self.text,))


def with_fields(head: str, fields: Mapping[str, Any]) -> str:
    """`head` (a JSON object) with `"fields": {...}` appended as its last member."""
    return f'{head[:-1]}, "fields": {fields_json(fields)}}}'


def fields_json(value: Any) -> str:
    """JSON text of a record's fields, numbers exactly as they were read.

    `json_records` parses non-integer numbers (and integers too long for
    Python's int conversion limit) as `JsonNumber`s, which keep the text as
    given; the standard encoder cannot write them, so this one does.
    """
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        members = (f"{to_json_text(key)}: {fields_json(item)}" for key, item in value.items())
        return "{" + ", ".join(members) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(fields_json(item) for item in value) + "]"
    if isinstance(value, JsonNumber):
        return value.text
    if isinstance(value, Decimal):
        return str(value)
    return to_json_text(value)
