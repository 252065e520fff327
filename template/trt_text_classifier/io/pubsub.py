"""Pub/Sub messages in, Pub/Sub messages out: the streaming job's source and sinks.

Input messages are one of:

- UTF-8 text: the whole payload is the text to classify;
- a JSON object (a payload whose first non-blank character is `{` is read as
  JSON), parsed by `json_records`: the text field (`--text_field`, default
  `text`) is required, the id field (`--id_field`, default `id`) optional,
  every other member travels into the result's `fields`.

The record id is, in this order: the JSON id field, the message's `id`
attribute, the Pub/Sub message id. Malformed messages (not UTF-8, bad JSON,
no text, blank text) become dead letters with the message's id.

Results are published as JSON (the same objects as the JSON Lines files, see
`records.py`). Each result message (prediction or dead letter) carries the
input message's attributes, except those the pipeline sets itself
(`PIPELINE_ATTRIBUTES`): `id`, the record id, so subscribers can filter or
deduplicate without parsing.
"""

from __future__ import annotations

from collections.abc import Iterator

import apache_beam as beam
from apache_beam.io.gcp.pubsub import PubsubMessage, ReadFromPubSub, WriteToPubSub
from apache_beam.metrics import Metrics

from trt_text_classifier.io.json_records import (
    DEFAULT_RECORD_FORMAT,
    JsonRecordFormat,
    RecordFormatError,
    parse_record,
)
from trt_text_classifier.io.sinks import encode_each
from trt_text_classifier.records import (
    METRICS_NAMESPACE,
    DeadLetter,
    Prediction,
    RecordFailure,
    TextRecord,
    escaped,
    per_record,
)

ID_ATTRIBUTE = "id"
PIPELINE_ATTRIBUTES = (ID_ATTRIBUTE,)
"""Attributes of result messages that the pipeline sets, replacing the input's."""
MAX_ATTRIBUTES = 100
MAX_ATTRIBUTE_VALUE_BYTES = 1024
"""Pub/Sub's limits: a message over them is refused, and a streaming job would retry it forever."""
PARSE_STAGE = "parse"


class MalformedMessage(RecordFormatError):
    """A message that holds no text to classify; the message says why.

    `record_id` is the id the message named, when it could be read, and
    `fields` its other JSON members.
    """


def message_id(message: PubsubMessage) -> str:
    """The id a message's record gets when its payload names none."""
    attributes = message.attributes or {}
    return attributes.get(ID_ATTRIBUTE) or message.message_id or ""


def parse_payload(
    data: bytes, default_id: str, record_format: JsonRecordFormat = DEFAULT_RECORD_FORMAT
) -> TextRecord:
    """Turn a message payload into a record, or raise `MalformedMessage`."""
    try:
        payload = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise MalformedMessage(
            f"message is not valid UTF-8 ({error.reason} at byte {error.start})"
        ) from None
    if not payload.lstrip().startswith("{"):
        return TextRecord(default_id, _checked_text(payload))
    try:
        return parse_record(payload, "message starting with '{'", default_id, record_format)
    except RecordFormatError as error:
        raise MalformedMessage(str(error), error.record_id, error.fields) from None


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
    """PubsubMessage -> TextRecord with the message's attributes; malformed ones to `dead_letters`."""

    def __init__(self, dead_letters_tag: str, record_format: JsonRecordFormat) -> None:
        self._dead_letters_tag = dead_letters_tag
        self._record_format = record_format
        self._records = Metrics.counter(METRICS_NAMESPACE, "records_read")
        self._malformed = Metrics.counter(METRICS_NAMESPACE, "malformed_messages")

    def process(self, message: PubsubMessage) -> Iterator[object]:
        default_id = message_id(message)
        attributes = dict(message.attributes or {})
        raw = message.data.decode("utf-8", errors="backslashreplace")
        record = per_record(
            lambda: self._parse(message, default_id, raw, attributes),
            record_id=default_id,
            record=raw,
            stage=PARSE_STAGE,
            attributes=attributes,
        )
        if isinstance(record, DeadLetter):
            self._malformed.inc()
            yield beam.pvalue.TaggedOutput(self._dead_letters_tag, record)
            return
        self._records.inc()
        yield record._replace(attributes=attributes)

    def _parse(
        self, message: PubsubMessage, default_id: str, raw: str, attributes: dict[str, str]
    ) -> TextRecord:
        try:
            return parse_payload(message.data, default_id, self._record_format)
        except MalformedMessage as error:
            raise RecordFailure(
                DeadLetter(
                    error.record_id or default_id,
                    raw,
                    str(error),
                    PARSE_STAGE,
                    error.fields,
                    attributes,
                )
            ) from None


def read_subscription(
    pipeline: beam.Pipeline,
    subscription: str,
    dead_letters_tag: str,
    record_format: JsonRecordFormat,
) -> beam.pvalue.DoOutputsTuple:
    """Records (main output) and malformed messages (`dead_letters_tag`) from a subscription."""
    return (
        pipeline
        | "ReadPubSub" >> ReadFromPubSub(subscription=subscription, with_attributes=True)
        | "ParseMessages"
        >> beam.ParDo(ParseMessages(dead_letters_tag, record_format)).with_outputs(
            dead_letters_tag, main="records"
        )
    )


def to_message(item: Prediction | DeadLetter) -> PubsubMessage:
    """A prediction or dead letter as a JSON message: the input's attributes, and its id.

    A dead letter always encodes (`DeadLetter.to_json` escapes what it must, and so are its
    attributes). A prediction that cannot be encoded raises: `publish` (through
    `sinks.encode_each`) sends its dead letter (stage "encode") to the dead-letter output.
    """
    if isinstance(item, DeadLetter):
        return PubsubMessage(
            item.to_json().encode("utf-8"),
            {name: escaped(value) for name, value in result_attributes(item).items()},
        )
    return PubsubMessage(item.to_json().encode("utf-8"), result_attributes(item))


def result_attributes(item: Prediction | DeadLetter) -> dict[str, str]:
    """The input's attributes with `id` set to the record id.

    The `id` attribute is left out (the id is always in the body) where
    Pub/Sub would refuse it: an id longer than 1,024 bytes, or an input that
    already has 100 other attributes.
    """
    attributes = {name: value for name, value in item.attributes.items() if name != ID_ATTRIBUTE}
    fits = len(item.id.encode("utf-8")) <= MAX_ATTRIBUTE_VALUE_BYTES
    if fits and len(attributes) < MAX_ATTRIBUTES:
        attributes[ID_ATTRIBUTE] = item.id
    return attributes


def publish(pcoll: beam.PCollection, topic: str, label: str) -> beam.PCollection:
    """Publish each prediction or dead letter; return the dead letters of the predictions
    that could not be encoded (`sinks.encode_each`)."""
    messages, unencodable = encode_each(pcoll, f"{label}ToMessage", to_message)
    _ = messages | f"Publish{label}" >> WriteToPubSub(topic, with_attributes=True)
    return unencodable
