"""The whole pipeline on the DirectRunner over real files: exact counts, ids, dead letters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trt_text_classifier.run import run_pipeline, summarize
from trt_text_classifier.sidecar import sha256_of


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def read_json_lines(pattern: Path) -> list[dict]:
    rows = []
    for shard in sorted(pattern.parent.glob(pattern.name)):
        rows.extend(json.loads(line) for line in shard.read_text("utf-8").splitlines())
    return rows


def run(tmp_path: Path, demo_onnx: str, *extra: str):
    _, result = run_pipeline(
        [
            f"--input={tmp_path / 'in' / '*.txt'}",
            f"--output={tmp_path / 'out' / 'predictions'}",
            f"--onnx_path={demo_onnx}",
            *extra,
        ],
        wait=True,
    )
    predictions = read_json_lines(tmp_path / "out" / "predictions-*.jsonl")
    dead_letters = read_json_lines(tmp_path / "out" / "dead_letters" / "predictions-*.jsonl")
    return summarize(result), predictions, dead_letters


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    directory = tmp_path / "in"
    directory.mkdir()
    write(directory / "a.txt", b"A warm and funny film.\n\nThe plot is dull.\n   \nGreat fun.")
    write(
        directory / "b.txt",
        b"\xef\xbb\xbfClever and charming.\r\nBad \xff\xfe bytes here\r\nSo boring.\r\n",
    )
    write(directory / "empty.txt", b"")
    return directory


def test_every_non_blank_line_is_one_prediction_or_one_dead_letter(
    tmp_path: Path, inputs: Path, demo_onnx: str
) -> None:
    summary, predictions, dead_letters = run(tmp_path, demo_onnx)

    a, b = inputs / "a.txt", inputs / "b.txt"
    assert sorted(p["id"] for p in predictions) == sorted(
        [f"{a}:1", f"{a}:3", f"{a}:5", f"{b}:1", f"{b}:3"]
    )
    assert [d["id"] for d in dead_letters] == [f"{b}:2"]
    assert summary.records_read == 5
    assert summary.blank_lines == 2
    assert (summary.predictions, summary.dead_letters) == (5, 1)


def test_prediction_records_follow_the_documented_schema(
    tmp_path: Path, inputs: Path, demo_onnx: str
) -> None:
    _, predictions, _ = run(tmp_path, demo_onnx)
    by_id = {p["id"]: p for p in predictions}
    first = by_id[f"{inputs / 'a.txt'}:1"]
    assert list(first) == ["id", "text", "label", "score", "probabilities", "model", "fields"]
    assert first["fields"] == {}
    assert first["model"] == f"model.onnx@{sha256_of(demo_onnx)[:12]}"
    assert first["text"] == "A warm and funny film."
    assert first["label"] == "positive"
    assert first["score"] == max(first["probabilities"].values())
    # The byte-order mark and the Windows line ending are not part of the text.
    assert by_id[f"{inputs / 'b.txt'}:1"]["text"] == "Clever and charming."
    assert by_id[f"{inputs / 'b.txt'}:3"]["text"] == "So boring."


def test_undecodable_lines_become_readable_dead_letters(
    tmp_path: Path, inputs: Path, demo_onnx: str
) -> None:
    _, _, dead_letters = run(tmp_path, demo_onnx)
    assert dead_letters == [
        {
            "id": f"{inputs / 'b.txt'}:2",
            "input": "Bad \\xff\\xfe bytes here",
            "error": "line is not valid UTF-8 (invalid start byte at byte 4); "
            "re-encode the file as UTF-8",
            "stage": "decode",
            "fields": {},
        }
    ]


def test_explicit_dead_letter_output_and_truncation_counts(
    tmp_path: Path, inputs: Path, demo_onnx: str
) -> None:
    write(inputs / "long.txt", (" ".join(["film"] * 300) + "\n").encode())
    _, result = run_pipeline(
        [
            f"--input={inputs / '*.txt'}",
            f"--output={tmp_path / 'o' / 'p'}",
            f"--dead_letter_output={tmp_path / 'dl' / 'bad'}",
            f"--onnx_path={demo_onnx}",
            "--max_seq_length=16",
        ],
        wait=True,
    )
    summary = summarize(result)
    assert (summary.predictions, summary.dead_letters, summary.truncated_records) == (6, 1, 1)
    assert len(read_json_lines(tmp_path / "dl" / "bad-*.jsonl")) == 1
    assert len(read_json_lines(tmp_path / "o" / "p-*.jsonl")) == 6


def test_many_records_across_batches_keep_the_invariant(tmp_path: Path, demo_onnx: str) -> None:
    directory = tmp_path / "in"
    directory.mkdir()
    for index in range(3):
        lines = [f"review {index}-{line}: " + "great film " * (line % 17) for line in range(400)]
        write(directory / f"part-{index}.txt", "\n".join(lines).encode())
    summary, predictions, dead_letters = run(tmp_path, demo_onnx, "--max_batch_size=32")
    assert len(predictions) == 1200
    assert len({p["id"] for p in predictions}) == 1200
    assert dead_letters == []
    assert summary.computed_tokens >= summary.real_tokens > 0
