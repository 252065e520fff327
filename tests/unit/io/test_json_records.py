"""JSON records: exact numbers through Beam's coders, and the fields of JSON messages."""

from __future__ import annotations

import json

from apache_beam.coders import registry
from apache_beam.io.gcp.pubsub import PubsubMessage

from trt_text_classifier.io.json_records import JsonRecordFormat, parse_object, record_from_object
from trt_text_classifier.io.pubsub import ParseMessages, to_message
from trt_text_classifier.records import DeadLetter, JsonNumber, TextRecord

LINE = (
    '{"id": "r-1", "text": "Fine.", "f": 6.02e23, "g": 1.10, "big": 123456789012345678901234567890}'
)


def test_records_keep_exact_numbers_through_beams_coder() -> None:
    record = record_from_object(parse_object(LINE, "line"), "p:1", JsonRecordFormat())
    coder = registry.get_coder(TextRecord)
    decoded = coder.decode(coder.encode(record))
    assert decoded == record
    assert isinstance(decoded.fields["f"], JsonNumber)
    assert decoded.fields["f"].text == "6.02e23"
    dead = DeadLetter(record.id, record.text, "e", "parse", decoded.fields)
    assert dead.to_json().endswith(
        '"fields": {"f": 6.02e23, "g": 1.10, "big": 123456789012345678901234567890}}'
    )


def test_a_json_message_brings_its_fields_and_attributes() -> None:
    message = PubsubMessage(
        b'{"key": "k-1", "body": "Fine.", "text": 1, "tags": ["a"]}',
        {"id": "attr-id", "tenant": "acme", "trace": "t-9"},
        message_id="42",
    )
    (record,) = ParseMessages("dead", JsonRecordFormat("body", "key")).process(message)
    assert record == TextRecord(
        "k-1",
        "Fine.",
        {"text": 1, "tags": ["a"]},
        {"id": "attr-id", "tenant": "acme", "trace": "t-9"},
    )


def test_a_malformed_message_keeps_its_fields_and_attributes() -> None:
    message = PubsubMessage(b'{"id": "x", "stars": 5}', {"tenant": "acme"}, message_id="42")
    (tagged,) = ParseMessages("dead", JsonRecordFormat()).process(message)
    dead_letter = tagged.value
    assert (dead_letter.id, dead_letter.stage, dead_letter.fields) == ("x", "parse", {"stars": 5})
    assert dead_letter.attributes == {"tenant": "acme"}
    published = to_message(dead_letter)
    assert published.attributes == {"tenant": "acme", "id": "x"}
    assert json.loads(published.data)["fields"] == {"stars": 5}


def test_result_messages_keep_input_attributes_but_the_pipeline_sets_id() -> None:
    dead_letter = DeadLetter("r-1", "t", "e", "inference", {}, {"id": "other", "tenant": "acme"})
    assert to_message(dead_letter).attributes == {"id": "r-1", "tenant": "acme"}


def test_the_id_attribute_is_left_out_where_pubsub_would_refuse_the_message() -> None:
    long_id = "r" * 1025
    assert to_message(DeadLetter(long_id, "t", "e", "parse")).attributes == {}
    full = {f"a{n}": "v" for n in range(100)}
    assert to_message(DeadLetter("r-1", "t", "e", "parse", {}, full)).attributes == full
    with_id = {**{f"a{n}": "v" for n in range(99)}, "id": "input"}
    published = to_message(DeadLetter("r-1", "t", "e", "parse", {}, with_id)).attributes
    assert published == {**with_id, "id": "r-1"}
    assert len(published) == 100
