"""Pub/Sub messages in, Pub/Sub messages out: the streaming job's source and sinks.

Input messages are one of:

- UTF-8 text: the whole payload is the text to classify;
- a JSON object `{"id": ..., "text": ...}` (a payload whose first non-blank
  character is `{` is read as JSON): `text` is required, `id` optional.

The record id is, in this order: the JSON `id`, the message's `id`
attribute, the Pub/Sub message id. Malformed messages (not UTF-8, bad JSON,
no text, blank text) become dead letters with the message's id.

Results are published as JSON (the same objects as the JSON Lines files, see
`records.py`), with the record id also set as the message's `id` attribute so
subscribers can filter or deduplicate without parsing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import apache_beam as beam
from apache_beam.io.gcp.pubsub import PubsubMessage, ReadFromPubSub, WriteToPubSub
from apache_beam.metrics import Metrics

from trt_text_classifier.handler import METRICS_NAMESPACE
from trt_text_classifier.records import DeadLetter, Prediction, TextRecord

ID_ATTRIBUTE = "id"
PARSE_STAGE = "parse"


class MalformedMessage(ValueError):
    """A message that holds no text to classify; the message says why.

    `record_id` is the id the message named, when it could be read.
    """

    def __init__(self, reason: str, record_id: str | None = None) -> None:
        super().__init__(reason)
        self.record_id = record_id


def message_id(message: PubsubMessage) -> str:
    """The id a message's record gets when its payload names none."""
    attributes = message.attributes or {}
    return attributes.get(ID_ATTRIBUTE) or message.message_id or ""


def parse_payload(data: bytes, default_id: str) -> TextRecord:
    """Turn a message payload into a record, or raise `MalformedMessage`."""
    try:
        payload = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise MalformedMessage(
            f"message is not valid UTF-8 ({error.reason} at byte {error.start})"
        ) from None
    if payload.lstrip().startswith("{"):
        return _parse_json_payload(payload, default_id)
    return TextRecord(default_id, _checked_text(payload))


def _parse_json_payload(payload: str, default_id: str) -> TextRecord:
    try:
        document = json.loads(payload)
    except json.JSONDecodeError as error:
        raise MalformedMessage(f"message starts with '{{' but is not valid JSON: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("text"), str):
        raise MalformedMessage('JSON message needs a string "text" field, e.g. {"text": "..."}')
    record_id = document.get("id")
    if record_id is None or record_id == "":
        record_id = default_id
    elif not isinstance(record_id, str | int):
        raise MalformedMessage(f'JSON "id" must be a string or an integer, got {record_id!r}')
    record_id = str(record_id)
    try:
        return TextRecord(record_id, _checked_text(document["text"]))
    except MalformedMessage as error:
        raise MalformedMessage(str(error), record_id) from None


def _checked_text(text: str) -> str:
    if not text.strip():
        raise MalformedMessage("message holds no text (empty or blank)")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedMessage(
            "text holds an unpaired UTF-16 surrogate (e.g. a lone \\ud800 escape in JSON)"
        ) from None
    return text


class ParseMessages(beam.DoFn):
    """PubsubMessage -> TextRecord; malformed messages to the `dead_letters` output."""

    def __init__(self, dead_letters_tag: str) -> None:
        self._dead_letters_tag = dead_letters_tag
        self._records = Metrics.counter(METRICS_NAMESPACE, "records_read")
        self._malformed = Metrics.counter(METRICS_NAMESPACE, "malformed_messages")

    def process(self, message: PubsubMessage) -> Iterator[object]:
        default_id = message_id(message)
        try:
            record = parse_payload(message.data, default_id)
        except MalformedMessage as error:
            self._malformed.inc()
            raw = message.data.decode("utf-8", errors="backslashreplace")
            dead_letter = DeadLetter(error.record_id or default_id, raw, str(error), PARSE_STAGE)
            yield beam.pvalue.TaggedOutput(self._dead_letters_tag, dead_letter)
            return
        self._records.inc()
        yield record


def read_subscription(
    pipeline: beam.Pipeline, subscription: str, dead_letters_tag: str
) -> beam.pvalue.DoOutputsTuple:
    """Records (main output) and malformed messages (`dead_letters_tag`) from a subscription."""
    return (
        pipeline
        | "ReadPubSub" >> ReadFromPubSub(subscription=subscription, with_attributes=True)
        | "ParseMessages"
        >> beam.ParDo(ParseMessages(dead_letters_tag)).with_outputs(
            dead_letters_tag, main="records"
        )
    )


def to_message(item: Prediction | DeadLetter) -> PubsubMessage:
    """A prediction or dead letter as a JSON message carrying its id as an attribute."""
    return PubsubMessage(item.to_json().encode("utf-8"), {ID_ATTRIBUTE: item.id})


def publish(pcoll: beam.PCollection, topic: str, label: str) -> None:
    _ = (
        pcoll
        | f"{label}ToMessage" >> beam.Map(to_message)
        | f"Publish{label}" >> WriteToPubSub(topic, with_attributes=True)
    )
