"""JSON Lines input on the DirectRunner: the user's fields travel through unchanged, bad lines say why.

One pipeline run (module fixture) over files holding records with extra fields
of every JSON type, malformed lines of every kind, duplicate ids, a numeric id
and a 5 MB line; each test checks one aspect. Fields are compared parsed,
with numbers kept as the exact text they were written with.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from support.pipeline_outputs import assert_each_record_once, read_json_lines
from support.repository import EXAMPLES
from trt_text_classifier.run import RunSummary, run_pipeline, summarize

EVERY_TYPE = (
    '{"review_id": "r-1", "review": "A warm and funny film.", '
    '"text": "a field named text is just a field here", "id": "and so is id", '
    '"string": "café ☕ \\u00e9\\ud83d\\ude00 \\"quoted\\" \\n newline", "empty": "", '
    '"int": 42, "negative": -7, "big_int": 123456789012345678901234567890, '
    '"float": 0.1, "trailing_zero": 1.10, "exponent": 6.02e23, "tiny": -1.5E-300, '
    '"beyond_double": 3.141592653589793238462643383279, "huge": 1e400, '
    '"true": true, "false": false, "null": null, '
    '"object": {"nested": {"deeper": [1, {"x": null}]}}, "array": [1, "two", 3.0, [], {}], '
    '"empty_object": {}, "empty_array": []}'
)
GOOD_LINES = [
    EVERY_TYPE,
    '{"review_id": 17, "review": "The plot is dull.", "stars": 1}',
    '{"review": "No id: the line number is the id.", "stars": 4}',
    '{"review_id": "dup", "review": "First of two records with one id.", "n": 1}',
    '{"review_id": "dup", "review": "Second of two records with one id.", "n": 2}',
    '{"review_id": null, "review": "A null id counts as absent."}',
]
BAD_LINES = {
    '{"review_id": "broken", "review": ': "line is not valid JSON (Expecting value: line 1 column 35",
    '["an", "array"]': "line is a JSON array, not an object; each record must be one JSON object",
    '"just a string"': "line is a JSON string, not an object; each record must be one JSON object",
    "12": "line is a JSON number, not an object",
    '{"review_id": "no-text", "stars": 2}': 'no "review" field; the text to classify must be a',
    '{"review_id": "blank", "review": "  \\t "}': '"review" is blank',
    '{"review_id": "number", "review": 5}': '"review" is a JSON number, not a string',
    '{"review_id": "null", "review": null}': '"review" is a JSON null, not a string',
    '{"review_id": "obj", "review": {"t": "x"}}': '"review" is a JSON object, not a string',
    '{"review_id": 1.5, "review": "Float id."}': '"review_id" must be a string or an integer, got 1.5',
    '{"review_id": "nan", "review": "x", "score": NaN}': "line is not valid JSON (NaN is not a JSON",
    '{"review_id": "lone", "review": "\\ud800"}': "line holds an unpaired UTF-16 surrogate",
}
BIG_TEXT = " ".join(["a warm and funny film"] * 250_000)
"""About 5 MB on one line."""


def exact(text: str) -> Any:
    """JSON parsed with every number kept as the text it was written with."""
    return json.loads(
        text,
        parse_int=lambda digits: ("number", digits),
        parse_float=lambda digits: ("number", digits),
        parse_constant=lambda name: ("constant", name),
    )


@dataclass(frozen=True)
class JsonLinesRun:
    path: Path
    lines: list[str]
    predictions: list[dict]
    dead_letters: list[dict]
    raw_predictions: dict[str, list[str]]
    summary: RunSummary


@pytest.fixture(scope="module")
def jsonl_run(tmp_path_factory: pytest.TempPathFactory, demo_onnx: str) -> JsonLinesRun:
    directory = tmp_path_factory.mktemp("jsonl")
    path = directory / "reviews.jsonl"
    big = json.dumps({"review_id": "big", "review": BIG_TEXT, "size": len(BIG_TEXT)})
    lines = [*GOOD_LINES, "", *BAD_LINES, big]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _, result = run_pipeline(
        [
            f"--input={path}",
            "--input_format=jsonl",
            "--text_field=review",
            "--id_field=review_id",
            f"--output={directory / 'out' / 'predictions'}",
            f"--onnx_path={demo_onnx}",
            "--max_seq_length=32",
            "--runner=DirectRunner",
        ],
        wait=True,
    )
    raw: dict[str, list[str]] = {}
    for shard in (directory / "out").glob("predictions-*.jsonl"):
        for line in shard.read_text("utf-8").splitlines():
            raw.setdefault(json.loads(line)["id"], []).append(line)
    return JsonLinesRun(
        path,
        lines,
        read_json_lines(str(directory / "out" / "predictions")),
        read_json_lines(str(directory / "out" / "dead_letters" / "predictions")),
        raw,
        summarize(result),
    )


def test_every_line_is_one_prediction_or_one_dead_letter(jsonl_run: JsonLinesRun) -> None:
    path = jsonl_run.path
    expected = ["r-1", "17", f"{path}:3", "dup", "dup", f"{path}:6", "big"]
    assert sorted(row["id"] for row in jsonl_run.predictions) == sorted(expected)
    assert len(jsonl_run.dead_letters) == len(BAD_LINES)
    assert jsonl_run.summary.records_read == len(GOOD_LINES) + len(BAD_LINES) + 1
    assert jsonl_run.summary.blank_lines == 1
    assert (jsonl_run.summary.predictions, jsonl_run.summary.dead_letters) == (
        len(GOOD_LINES) + 1,
        len(BAD_LINES),
    )


def test_fields_of_every_json_type_arrive_unchanged(jsonl_run: JsonLinesRun) -> None:
    (line,) = jsonl_run.raw_predictions["r-1"]
    written = exact(line)
    given = exact(EVERY_TYPE)
    del given["review_id"], given["review"]
    assert written["fields"] == given
    assert list(written["fields"]) == list(given)
    assert written["fields"]["big_int"] == ("number", "123456789012345678901234567890")
    assert written["fields"]["trailing_zero"] == ("number", "1.10")
    assert written["fields"]["huge"] == ("number", "1e400")
    assert written["fields"]["beyond_double"] == ("number", "3.141592653589793238462643383279")
    assert written["text"] == "A warm and funny film."
    assert written["model"].startswith("model.onnx@")


def test_exponents_keep_their_value_and_digits(jsonl_run: JsonLinesRun) -> None:
    from decimal import Decimal

    (line,) = jsonl_run.raw_predictions["r-1"]
    fields = json.loads(line, parse_float=Decimal)["fields"]
    assert fields["exponent"] == Decimal("6.02e23")
    assert fields["tiny"] == Decimal("-1.5E-300")
    assert fields["huge"] == Decimal("1e400")


def test_numeric_and_missing_ids(jsonl_run: JsonLinesRun) -> None:
    by_id = {row["id"]: row for row in jsonl_run.predictions}
    assert by_id["17"]["fields"] == {"stars": 1}
    assert by_id[f"{jsonl_run.path}:3"]["fields"] == {"stars": 4}
    assert by_id[f"{jsonl_run.path}:6"]["fields"] == {}


def test_duplicate_ids_are_kept_and_both_classified(jsonl_run: JsonLinesRun) -> None:
    duplicates = [row for row in jsonl_run.predictions if row["id"] == "dup"]
    assert sorted(row["fields"]["n"] for row in duplicates) == [1, 2]
    assert {row["text"] for row in duplicates} == {
        "First of two records with one id.",
        "Second of two records with one id.",
    }


def test_a_five_megabyte_line_is_classified(jsonl_run: JsonLinesRun) -> None:
    (row,) = [row for row in jsonl_run.predictions if row["id"] == "big"]
    assert len(BIG_TEXT.encode()) > 5_000_000
    assert row["text"] == BIG_TEXT
    assert row["fields"] == {"size": len(BIG_TEXT)}
    assert jsonl_run.summary.truncated_records >= 1


def test_bad_lines_are_parse_dead_letters_that_say_why(jsonl_run: JsonLinesRun) -> None:
    number = {line: index for index, line in enumerate(jsonl_run.lines, start=1)}
    by_input = {row["input"]: row for row in jsonl_run.dead_letters}
    assert set(by_input) == set(BAD_LINES)
    for line, reason in BAD_LINES.items():
        row = by_input[line]
        assert row["stage"] == "parse"
        assert row["error"].startswith(reason), row["error"]
        assert list(row) == ["id", "input", "error", "stage", "fields"]
        if row["id"] not in ("no-text", "blank", "number", "null", "obj", "lone"):
            assert row["id"] == f"{jsonl_run.path}:{number[line]}"
    assert by_input['{"review_id": "no-text", "stars": 2}']["fields"] == {"stars": 2}
    assert by_input['{"review_id": "no-text", "stars": 2}']["id"] == "no-text"


def test_each_output_id_accounts_for_one_line(jsonl_run: JsonLinesRun) -> None:
    ids = [row["id"] for row in jsonl_run.predictions + jsonl_run.dead_letters]
    # "dup" is the one id given twice on purpose; everything else appears once.
    assert ids.count("dup") == 2
    unique = [record_id for record_id in ids if record_id != "dup"]
    assert_each_record_once(unique, [{"id": i} for i in unique], [])


def test_the_quickstart_example_file(tmp_path: Path, demo_onnx: str) -> None:
    example = EXAMPLES / "reviews.jsonl"
    run_pipeline(
        [
            f"--input={example}",
            "--input_format=jsonl",
            "--text_field=review",
            "--id_field=review_id",
            f"--output={tmp_path / 'predictions'}",
            f"--onnx_path={demo_onnx}",
        ],
        wait=True,
    )
    predictions = {row["id"]: row for row in read_json_lines(str(tmp_path / "predictions"))}
    dead_letters = read_json_lines(str(tmp_path / "dead_letters" / "predictions"))
    assert sorted(predictions) == sorted(["r-101", "r-102", "103", f"{example}:4"])
    assert predictions["r-101"]["fields"]["customer"] == {
        "id": 12345678901234567890,
        "tier": "gold",
    }
    assert sorted((row["id"], row["stage"]) for row in dead_letters) == [
        (f"{example}:6", "parse"),
        ("r-105", "parse"),
    ]
