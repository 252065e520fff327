"""Awkward input files: invalid UTF-8, very long lines, empty files, CRLF, BOM, empty globs.

One pipeline run over a directory holding all of them; each test checks one aspect.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from support.emulators import GcsEmulator
from support.pipeline_outputs import assert_each_record_once, read_json_lines
from trt_text_classifier.cli import main
from trt_text_classifier.run import RunSummary, run_pipeline, summarize

LONG_TEXT = " ".join(["a warm and funny film"] * 400)
"""About 2,000 words: far above max_seq_length tokens."""


@dataclass(frozen=True)
class HygieneRun:
    directory: Path
    predictions: dict[str, dict]
    dead_letters: dict[str, dict]
    summary: RunSummary


@pytest.fixture(scope="module")
def hygiene_run(tmp_path_factory: pytest.TempPathFactory, demo_onnx: str) -> HygieneRun:
    directory = tmp_path_factory.mktemp("hygiene")
    inputs = directory / "in"
    inputs.mkdir()
    (inputs / "empty.txt").write_bytes(b"")
    (inputs / "windows.txt").write_bytes(b"Dull film.\r\n\r\nGreat cast.\r\nNo final newline\r")
    (inputs / "bom.txt").write_bytes(b"\xef\xbb\xbfFirst line after a BOM\n")
    (inputs / "latin1.txt").write_bytes(b"caf\xe9 au lait\nplain ascii\n")
    (inputs / "long.txt").write_text(LONG_TEXT + "\n", encoding="utf-8")
    _, result = run_pipeline(
        [
            f"--input={inputs}/*.txt",
            f"--output={directory / 'out' / 'predictions'}",
            f"--onnx_path={demo_onnx}",
            "--max_seq_length=64",
            "--runner=DirectRunner",
        ],
        wait=True,
    )
    predictions = read_json_lines(str(directory / "out" / "predictions"))
    dead_letters = read_json_lines(str(directory / "out" / "dead_letters" / "predictions"))
    return HygieneRun(
        inputs,
        {row["id"]: row for row in predictions},
        {row["id"]: row for row in dead_letters},
        summarize(result),
    )


def test_every_non_blank_line_is_accounted_for_once(hygiene_run: HygieneRun) -> None:
    inputs = hygiene_run.directory
    expected = [
        f"{inputs}/windows.txt:1",
        f"{inputs}/windows.txt:3",
        f"{inputs}/windows.txt:4",
        f"{inputs}/bom.txt:1",
        f"{inputs}/latin1.txt:1",
        f"{inputs}/latin1.txt:2",
        f"{inputs}/long.txt:1",
    ]
    assert_each_record_once(
        expected, list(hygiene_run.predictions.values()), list(hygiene_run.dead_letters.values())
    )
    assert hygiene_run.summary.blank_lines == 1
    assert (hygiene_run.summary.predictions, hygiene_run.summary.dead_letters) == (6, 1)


def test_windows_line_endings_and_bom_are_removed(hygiene_run: HygieneRun) -> None:
    inputs = hygiene_run.directory
    texts = {key: row["text"] for key, row in hygiene_run.predictions.items()}
    assert texts[f"{inputs}/windows.txt:1"] == "Dull film."
    assert texts[f"{inputs}/windows.txt:3"] == "Great cast."
    assert texts[f"{inputs}/windows.txt:4"] == "No final newline"
    assert texts[f"{inputs}/bom.txt:1"] == "First line after a BOM"


def test_invalid_utf8_line_is_a_dead_letter_and_its_neighbours_are_not(
    hygiene_run: HygieneRun,
) -> None:
    inputs = hygiene_run.directory
    assert hygiene_run.dead_letters == {
        f"{inputs}/latin1.txt:1": {
            "id": f"{inputs}/latin1.txt:1",
            "input": "caf\\xe9 au lait",
            "error": "line is not valid UTF-8 (invalid continuation byte at byte 3); "
            "re-encode the file as UTF-8",
            "stage": "decode",
            "fields": {},
        }
    }
    assert hygiene_run.predictions[f"{inputs}/latin1.txt:2"]["text"] == "plain ascii"


def test_very_long_line_is_truncated_and_counted_not_rejected(hygiene_run: HygieneRun) -> None:
    long_row = hygiene_run.predictions[f"{hygiene_run.directory}/long.txt:1"]
    assert long_row["text"] == LONG_TEXT
    assert long_row["label"] in ("negative", "positive")
    assert hygiene_run.summary.truncated_records == 1


def test_gcs_glob_matching_no_file_fails_at_launch(
    gcs_emulator: GcsEmulator, demo_onnx: str, capsys: pytest.CaptureFixture[str]
) -> None:
    pattern = gcs_emulator.url("hygiene/none/*.txt")
    status = main(
        [
            "run",
            f"--input={pattern}",
            f"--output={gcs_emulator.url('hygiene/out/p')}",
            f"--onnx_path={demo_onnx}",
        ]
    )
    assert status == 2
    assert capsys.readouterr().err.startswith(f"error: --input={pattern!r}: matches no file")
