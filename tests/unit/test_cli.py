"""The command line: help, bad parameters as one line with a non-zero status, a full run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from support.repository import EXAMPLES, run_python
from trt_text_classifier.cli import main


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("run", "demo-model", "export"):
        assert f"  {command} " in out


def test_unknown_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frobnicate"]) == 2
    assert capsys.readouterr().err.startswith("error: unknown command 'frobnicate'")


def test_run_help_documents_every_parameter(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--onnx_path" in out and "Example: gs://my-bucket/reviews/*.txt" in out


def test_installed_command_runs_the_examples(demo_onnx: str, tmp_path: Path) -> None:
    completed = run_python(
        "-m",
        "trt_text_classifier",
        "run",
        f"--input={EXAMPLES / '*.txt'}",
        f"--output={tmp_path / 'predictions'}",
        f"--onnx_path={demo_onnx}",
    )
    assert completed.returncode == 0, completed.stderr
    first, *lines = completed.stdout.splitlines()
    run_id = first.removeprefix("run: ")
    assert re.fullmatch(r"\d{8}T\d{6}-[0-9a-f]{6}", run_id), first
    assert lines[:2] == [
        f"predictions:  11 -> {tmp_path / 'predictions'}-{run_id}-?????-of-?????.jsonl",
        f"dead letters: 1 -> {tmp_path / 'dead_letters' / 'predictions'}-{run_id}"
        "-?????-of-?????.jsonl",
    ]


def test_bad_parameter_from_the_real_process_has_no_traceback() -> None:
    completed = run_python("-m", "trt_text_classifier", "run", "--input=x", "--output=o")
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr
    assert completed.stderr.startswith("error: --onnx_path / --engine_path")
