"""Per-record failures become that record's dead letter (`records.per_record`), unit by unit."""

from __future__ import annotations

import bz2
import gzip
import io
import json

import pytest
from apache_beam.io.gcp.pubsub import PubsubMessage
from apache_beam.pvalue import TaggedOutput

from trt_text_classifier.io import pubsub
from trt_text_classifier.io.json_lines import ParseJsonLines
from trt_text_classifier.io.json_records import (
    DEFAULT_RECORD_FORMAT,
    RecordFormatError,
    parse_record,
)
from trt_text_classifier.io.sinks import EncodeEach, json_line_of, json_lines_of
from trt_text_classifier.io.text_files import read_lines
from trt_text_classifier.records import (
    DEAD_LETTERS,
    DeadLetter,
    Prediction,
    TextRecord,
    escaped,
    per_record,
)
from trt_text_classifier.serving.handler import has_tokens
from trt_text_classifier.serving.tokenization import CHARACTERS_PER_TOKEN_BOUND, cut


def _deep(levels: int) -> object:
    value: object = []
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize(
    "error",
    [RecursionError("maximum recursion depth"), UnicodeEncodeError("utf-8", "\udc00", 0, 1, "x")],
)
def test_any_exception_of_a_step_is_the_records_dead_letter(error: Exception) -> None:
    def step() -> str:
        raise error

    dead = per_record(step, record_id="r\udc00", record="a \udc00 b", stage="parse")
    assert isinstance(dead, DeadLetter)
    assert (dead.id, dead.input, dead.stage) == ("r\\udc00", "a \\udc00 b", "parse")
    assert "\n" not in dead.error and dead.error.startswith(type(error).__name__)
    json.loads(dead.to_json().encode("utf-8"))


def test_escaped_leaves_good_text_alone() -> None:
    assert escaped("café") == "café"
    assert escaped("caf\udce9") == "caf\\udce9"


@pytest.mark.parametrize(
    "line",
    [
        '{"text": "a \\udc00 b"}',
        '{"text": "x", "k\\udfff": 1}',
        '{"text": "x", "o": "\\udc80"}',
        '{"id": "\\udc00", "text": "x"}',
        '{"text": "x", "d": ' + "[" * 400 + "]" * 400 + "}",
        "[" * 100_000,
    ],
)
def test_hostile_json_is_a_record_format_error(line: str) -> None:
    with pytest.raises(RecordFormatError):
        parse_record(line, "line", "f:1", DEFAULT_RECORD_FORMAT)


def test_minus_zero_is_written_back_as_minus_zero() -> None:
    record = parse_record('{"text": "x", "n": -0}', "line", "f:1", DEFAULT_RECORD_FORMAT)
    prediction = Prediction("f:1", "x", "a", 1.0, {"a": 1.0}, "m", record.fields)
    assert prediction.to_json().endswith('"fields": {"n": -0}}')


def test_parse_json_lines_turns_every_line_into_one_outcome() -> None:
    lines = [
        TextRecord("f:1", '{"text": "ok"}'),
        TextRecord("f:2", '{"text": "a \\udc00 b"}'),
        TextRecord("f:3", "[" * 100_000),
    ]
    outputs = list(ParseJsonLines(DEFAULT_RECORD_FORMAT, DEAD_LETTERS).process(lines))
    dead = [output.value for output in outputs if hasattr(output, "tag")]
    records = [output for output in outputs if isinstance(output, list)]
    assert [letter.id for letter in dead] == ["f:2", "f:3"]
    assert [record.id for record in records[0]] == ["f:1"]


@pytest.mark.parametrize(
    ("data", "lines"),
    [
        (b'{"a":\r1}\nsecond\n', ['{"a":\r1}', "second"]),
        (b"one\na lone \r here\nthree\n", ["one", "a lone \r here", "three"]),
        (b"crlf\r\nwith \r inside\r\nlast\r", ["crlf", "with \r inside", "last"]),
        (b"old\rmac\rfile\r", ["old", "mac", "file"]),
    ],
)
def test_line_endings_follow_the_file_and_ids_match_sed(data: bytes, lines: list[str]) -> None:
    assert [line for _, line in read_lines(io.BytesIO(data))] == lines


@pytest.mark.parametrize("compress", [gzip.compress, bz2.compress])
def test_python_readers_raise_on_a_truncated_archive(compress) -> None:  # type: ignore[no-untyped-def]
    data = b"".join(b"line %d\n" % number for number in range(50_000))
    cut_short = compress(data)[: len(compress(data)) // 2]
    reader = (
        gzip.GzipFile(fileobj=io.BytesIO(cut_short))
        if compress is gzip.compress
        else bz2.BZ2File(io.BytesIO(cut_short))
    )
    read: list[str] = []
    with pytest.raises(EOFError):
        for _, line in read_lines(reader):  # type: ignore[arg-type]
            read.append(str(line))
    assert read == [f"line {number}" for number in range(len(read))]


def test_a_dead_letter_that_cannot_be_encoded_is_escaped_not_lost() -> None:
    letter = DeadLetter("id\udc00", "in \udc80", "error", "parse", {"deep": _deep(5000)})
    row = json.loads(json_line_of(letter).encode("utf-8"))
    assert (row["id"], row["input"], row["fields"]) == ("id\\udc00", "in \\udc80", {})


@pytest.mark.parametrize("in_lists", [False, True])
def test_the_encode_step_sends_unencodable_predictions_to_the_dead_letter_output(
    in_lists: bool,
) -> None:
    bad = Prediction("p\udc00", "t", "a", 1.0, {"a": 1.0}, "m", {"k": "\udc00"})
    good = Prediction("q", "t", "a", 1.0, {"a": 1.0}, "m")
    letter = DeadLetter("d", "in", "error", "parse")
    step = EncodeEach(json_line_of, "\n".join if in_lists else None)
    elements = [[bad, good, letter], [bad]] if in_lists else [bad, good, letter]
    outputs = [output for element in elements for output in step.process(element)]
    dead = [output.value for output in outputs if isinstance(output, TaggedOutput)]
    lines = [output for output in outputs if not isinstance(output, TaggedOutput)]
    assert [(letter.id, letter.stage) for letter in dead] == [("p\\udc00", "encode")] * (
        2 if in_lists else 1
    )
    assert dead[0].attributes == {} and dead[0].fields == {"k": "\udc00"}
    rows = [json.loads(line) for text in lines for line in text.splitlines()]
    assert [row["id"] for row in rows] == ["q", "d"]
    assert len(lines) == (1 if in_lists else 2)  # an all-failed list writes no empty line
    with pytest.raises(UnicodeEncodeError):
        json_lines_of([bad, good])


def test_pubsub_messages_of_unencodable_predictions_raise_and_parse_never_raises() -> None:
    with pytest.raises(UnicodeEncodeError):
        pubsub.to_message(Prediction("p", "t", "a", 1.0, {"a": 1.0}, "m", {"k": "\udc00"}))
    step = EncodeEach(pubsub.to_message)
    (dead,) = step.process(Prediction("p", "t", "a", 1.0, {"a": 1.0}, "m", {"k": "\udc00"}))
    assert dead.tag == DEAD_LETTERS and dead.value.stage == "encode"  # type: ignore[union-attr]
    message = pubsub.to_message(dead.value)  # type: ignore[union-attr]
    assert json.loads(message.data)["stage"] == "encode"
    parse = pubsub.ParseMessages(DEAD_LETTERS, DEFAULT_RECORD_FORMAT)
    for data in (
        b'{"text": "a \\udc00"}',
        b'{"a": ' + b"[" * 100_000,
        b'{"text": ' + b"[" * 400 + b"}",
    ):
        (output,) = parse.process(PubsubMessage(data, {}, message_id="m-1"))
        assert output.value.stage == "parse"  # type: ignore[attr-defined]


def test_text_with_nothing_to_tokenize_is_recognised() -> None:
    assert not has_tokens("\u200b\u200c\x01\x02 \t\ufeff")
    assert has_tokens("\u200bok") and has_tokens("日本")


def test_long_text_is_cut_to_what_max_seq_length_can_use() -> None:
    (text,) = cut(["x" * 10_000_000], 128)
    assert len(text) == 128 * CHARACTERS_PER_TOKEN_BOUND
