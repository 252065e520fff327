"""JSON objects as records: the text to classify, the id, and the user's other fields.

One parser for JSON Lines files (`--input_format=jsonl`) and JSON Pub/Sub
messages. A JSON object becomes a `TextRecord` whose

- `text` is the string in the text field (`--text_field`, default `text`);
- `id` is the id field (`--id_field`, default `id`) when it is a non-empty
  string or an integer, else the default id (`PATH:LINE`, or the message's);
- `fields` is every other member, unchanged and in order.

Numbers survive exactly: integers are Python ints of any size, other numbers
are `records.JsonNumber`s, Decimals that keep the text as given (`1.10` stays
`1.10`, `6.02e23` and `1e400` stay as written), and `records.fields_json`
writes them back as that text.
NaN and Infinity are not JSON and are refused. When an object repeats a key,
the last value wins (Python's json). Ids are not checked for uniqueness: two
records with one id are both classified, and both outputs carry that id.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from trt_text_classifier.records import NO_FIELDS, JsonNumber, TextRecord, fields_json

_LONGEST_INT_DIGITS = sys.get_int_max_str_digits() or 4300
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]", re.ASCII)
"""A JSON escape of a UTF-16 surrogate, high (D800-DBFF) or low (DC00-DFFF); paired ones
decode fine, lone ones do not."""
MAX_DEPTH = 64
"""Deepest nesting of arrays and objects a record may have: deeper records are refused, as
Python's recursive JSON encoder and Beam's coders would fail on them (400+ levels)."""


class RecordFormatError(ValueError):
    """A JSON record holds no text to classify; the message says why and how to fix it.

    `record_id` and `fields` are what could be read of the record, for its dead letter.
    """

    def __init__(
        self, reason: str, record_id: str | None = None, fields: Mapping[str, Any] = NO_FIELDS
    ) -> None:
        super().__init__(reason)
        self.record_id = record_id
        self.fields = fields


@dataclass(frozen=True)
class JsonRecordFormat:
    """Which members of a JSON record hold the text and the id."""

    text_field: str = "text"
    id_field: str = "id"


DEFAULT_RECORD_FORMAT = JsonRecordFormat()


def _parse_int(digits: str) -> int | JsonNumber:
    # Python refuses to convert more than ~4300 digits to an int; JsonNumber has no such limit.
    # `-0` is no int (int("-0") is 0): as a JsonNumber it is written back as `-0`.
    if digits == "-0":
        return JsonNumber(digits)
    return int(digits) if len(digits) < _LONGEST_INT_DIGITS else JsonNumber(digits)


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def loads_exact(payload: str) -> Any:
    """Parse JSON with exact numbers; ValueError (with the position) when it is not JSON."""
    return json.loads(
        payload, parse_float=JsonNumber, parse_int=_parse_int, parse_constant=_refuse_constant
    )


def parse_object(payload: str, what: str) -> dict[str, Any]:
    """`payload` as a JSON object, or `RecordFormatError` naming `what` (line, message)."""
    try:
        document = loads_exact(payload)
    except ValueError as error:
        raise RecordFormatError(f"{what} is not valid JSON ({error})") from None
    except RecursionError:
        raise RecordFormatError(
            f"{what} is nested too deep to parse; records may nest at most {MAX_DEPTH} levels"
        ) from None
    if not isinstance(document, dict):
        raise RecordFormatError(
            f"{what} is a JSON {json_type(document)}, not an object; "
            'each record must be one JSON object such as {"id": "r-1", "text": "..."}'
        )
    return document


def parse_record(
    payload: str, what: str, default_id: str, record_format: JsonRecordFormat
) -> TextRecord:
    """The record a JSON object's text describes, or `RecordFormatError` naming `what`."""
    document = parse_object(payload, what)
    if _depth_over(document, MAX_DEPTH):
        raise RecordFormatError(
            f"{what} nests arrays and objects more than {MAX_DEPTH} levels deep; "
            "flatten the record",
            _readable_id(document.get(record_format.id_field)),
        )
    if _SURROGATE_ESCAPE.search(payload) and not _encodable(document):
        record_id = _readable_id(document.get(record_format.id_field))
        raise RecordFormatError(
            f"{what} holds an unpaired UTF-16 surrogate (e.g. a lone \\ud800 escape), "
            "which is not text; fix the producer's JSON encoding",
            record_id,
        )
    return record_from_object(document, default_id, record_format)


def _depth_over(document: Any, limit: int) -> bool:
    """True when `document` nests arrays and objects deeper than `limit` (no recursion)."""
    pending: list[tuple[Any, int]] = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > limit:
            return True
        if isinstance(value, dict):
            pending.extend(
                (item, depth + 1) for item in value.values() if isinstance(item, dict | list)
            )
        elif isinstance(value, list):
            pending.extend((item, depth + 1) for item in value if isinstance(item, dict | list))
    return False


def _encodable(document: dict[str, Any]) -> bool:
    """False for lone surrogates (`"\\ud800"`): valid JSON, but no UTF-8 coder can carry them."""
    try:
        fields_json(document).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _readable_id(value: Any) -> str | None:
    """The id, when it can be written (a dead letter keeps it)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value and _encodable({"id": value}):
        return value
    return None


def record_from_object(
    document: dict[str, Any], default_id: str, record_format: JsonRecordFormat
) -> TextRecord:
    """The record a JSON object describes, or `RecordFormatError`."""
    text_field, id_field = record_format.text_field, record_format.id_field
    fields = {key: value for key, value in document.items() if key not in (text_field, id_field)}
    record_id = _record_id(document.get(id_field), default_id, id_field, fields)
    if text_field not in document:
        raise RecordFormatError(
            f'no "{text_field}" field; the text to classify must be a string there '
            "(--text_field names the field)",
            record_id,
            fields,
        )
    text = document[text_field]
    if not isinstance(text, str):
        raise RecordFormatError(
            f'"{text_field}" is a JSON {json_type(text)}, not a string', record_id, fields
        )
    if not text.strip():
        raise RecordFormatError(f'"{text_field}" is blank', record_id, fields)
    return TextRecord(record_id, text, fields)


def _record_id(value: Any, default_id: str, id_field: str, fields: Mapping[str, Any]) -> str:
    if value is None or value == "":
        return default_id
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, JsonNumber) and re.fullmatch(r"-?[0-9]+", value.text):
        # An integer too long for Python's int-string conversion: its digits, as written.
        return value.text
    raise RecordFormatError(
        f'"{id_field}" must be a string or an integer, got {fields_json(value)}',
        default_id,
        fields,
    )


def json_type(value: Any) -> str:
    """The JSON name of a parsed value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | Decimal):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"
