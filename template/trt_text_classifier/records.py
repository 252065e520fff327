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
decoded; `stage` says where it failed (read, decode, parse, inference,
bigquery).

`attributes` (the Pub/Sub message attributes of a streaming record) travel
with a record to the messages published for it, not into the JSON body.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, NamedTuple

METRICS_NAMESPACE = "trt_text_classifier"
"""The namespace of every Beam counter and distribution the pipeline reports."""
DEAD_LETTERS = "dead_letters"
"""The tag of every step's dead-letter output."""

NO_FIELDS: Mapping[str, Any] = {}
"""The default `fields` and `attributes`: shared, so never mutated."""


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
        return with_fields(json.dumps(document, ensure_ascii=False), self.fields)


class DeadLetter(NamedTuple):
    """A record that produced no prediction, and why."""

    id: str
    input: str
    error: str
    stage: str
    fields: Mapping[str, Any] = NO_FIELDS
    attributes: Mapping[str, str] = NO_FIELDS

    def to_json(self) -> str:
        head = json.dumps(
            {"id": self.id, "input": self.input, "error": self.error, "stage": self.stage},
            ensure_ascii=False,
        )
        return with_fields(head, self.fields)


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
        members = (
            f"{json.dumps(key, ensure_ascii=False)}: {fields_json(item)}"
            for key, item in value.items()
        )
        return "{" + ", ".join(members) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(fields_json(item) for item in value) + "]"
    if isinstance(value, JsonNumber):
        return value.text
    if isinstance(value, Decimal):
        return str(value)
    return json.dumps(value, ensure_ascii=False)
