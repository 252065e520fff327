"""Pub/Sub message parsing and result messages (no emulator: pure functions)."""

from __future__ import annotations

import json

import pytest
from apache_beam.io.gcp.pubsub import PubsubMessage

from trt_text_classifier.io.pubsub import MalformedMessage, message_id, parse_payload, to_message
from trt_text_classifier.records import DeadLetter, Prediction, TextRecord


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"Plain text.", TextRecord("m-1", "Plain text.")),
        ("Café crème".encode(), TextRecord("m-1", "Café crème")),
        (b'{"id": "r-9", "text": "Json text."}', TextRecord("r-9", "Json text.")),
        (b'  {"id": 12, "text": "Numeric id."}', TextRecord("12", "Numeric id.")),
        (b'{"text": "No id."}', TextRecord("m-1", "No id.")),
        (b'{"id": "", "text": "Empty id."}', TextRecord("m-1", "Empty id.")),
        (
            b"[1, 2] is not an object, but text",
            TextRecord("m-1", "[1, 2] is not an object, but text"),
        ),
    ],
)
def test_payloads_become_records(data: bytes, expected: TextRecord) -> None:
    assert parse_payload(data, "m-1") == expected


@pytest.mark.parametrize(
    ("data", "reason", "record_id"),
    [
        (
            b"caf\xe9 au lait",
            "message is not valid UTF-8 (invalid continuation byte at byte 3)",
            None,
        ),
        (b"", "message holds no text (empty or blank)", None),
        (b" \n\t", "message holds no text (empty or blank)", None),
        (b'{"text": ', "message starting with '{' is not valid JSON (Expecting value", None),
        (b'{"id": "x"}', 'no "text" field; the text to classify must be a string there', "x"),
        (b'{"text": 5}', '"text" is a JSON number, not a string', "m-1"),
        (b'{"id": [1], "text": "t"}', '"id" must be a string or an integer, got [1]', "m-1"),
        (b'{"id": "x", "text": " "}', '"text" is blank', "x"),
        (b'{"id": "s", "text": "\\ud800"}', "message starting with '{' holds an unpaired", "s"),
    ],
)
def test_malformed_payloads_say_why(data: bytes, reason: str, record_id: str | None) -> None:
    with pytest.raises(MalformedMessage) as raised:
        parse_payload(data, "m-1")
    assert str(raised.value).startswith(reason)
    assert raised.value.record_id == record_id


def test_id_attribute_wins_over_the_pubsub_message_id() -> None:
    with_attribute = PubsubMessage(b"x", {"id": "attr"}, message_id="42")
    assert message_id(with_attribute) == "attr"
    assert message_id(PubsubMessage(b"x", None, message_id="42")) == "42"


def test_results_are_json_messages_carrying_their_id() -> None:
    prediction = Prediction(
        "r-1", "Fine.", "positive", 0.5, {"negative": 0.5, "positive": 0.5}, "m.onnx@0123456789ab"
    )
    message = to_message(prediction)
    assert json.loads(message.data) == {
        "id": "r-1",
        "text": "Fine.",
        "label": "positive",
        "score": 0.5,
        "probabilities": {"negative": 0.5, "positive": 0.5},
        "model": "m.onnx@0123456789ab",
        "fields": {},
    }
    assert message.attributes == {"id": "r-1"}
    dead = to_message(DeadLetter("r-2", "{bad", "not JSON", "parse"))
    assert json.loads(dead.data) == {
        "id": "r-2",
        "input": "{bad",
        "error": "not JSON",
        "stage": "parse",
        "fields": {},
    }
    assert dead.attributes == {"id": "r-2"}
    assert json.loads(dead.data)["fields"] == {}
