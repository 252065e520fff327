"""The command line: help, bad parameters as one line with a non-zero status, a full run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from support.repository import EXAMPLES, REPOSITORY, run_python
from trt_text_classifier.cli import main


@pytest.fixture(scope="module")
def short_model(demo_bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The demo bundle with a manifest that declares a 64-token limit."""
    directory = tmp_path_factory.mktemp("short-model")
    shutil.copytree(demo_bundle, directory, dirs_exist_ok=True)
    manifest = json.loads((directory / "bundle.json").read_text())
    manifest["max_sequence_length"] = 64
    (directory / "bundle.json").write_text(json.dumps(manifest))
    return str(directory / "model.onnx")


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


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--input=examples/*.txt", "--output=o"],
            "error: --onnx_path / --engine_path: give exactly one model (neither was given)",
        ),
        (
            ["--input=examples/*.txt", "--output=o", "--onnx_path=m.onnx", "--engine_path=e.plan"],
            "error: --onnx_path / --engine_path: give exactly one model (both were given)",
        ),
        (
            ["--input=no-such-dir/*.txt", "--output=o", "--onnx_path={model}"],
            "error: --input='no-such-dir/*.txt': matches no file; check the path and the wildcard",
        ),
        (
            ["--input=examples/*.txt", "--output=o", "--onnx_path=no/model.onnx"],
            "error: --onnx_path='no/model.onnx': no such file; give a model.onnx written by",
        ),
        (
            ["--input=examples/*.txt", "--output=o", "--onnx_path={model}", "--max_seq_length=0"],
            "error: --max_seq_length='0': Input should be greater than or equal to 3",
        ),
        (
            ["--input=examples/*.txt", "--output=o", "--onnx_path={short}", "--max_seq_length=128"],
            "error: --max_seq_length=128: above the model's limit of 64 tokens; use at most 64",
        ),
        (
            [
                "--input=examples/*.txt",
                "--output=o",
                "--onnx_path={model}",
                "--min_batch_size=10",
                "--max_batch_size=5",
            ],
            "error: --min_batch_size=10 is larger than --max_batch_size=5",
        ),
    ],
)
def test_bad_parameters_end_with_one_line(
    arguments: list[str],
    message: str,
    demo_onnx: str,
    short_model: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(REPOSITORY)
    filled = [arg.format(model=demo_onnx, short=short_model) for arg in arguments]
    assert main(["run", *filled]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message)
    assert err.count("\n") == 1


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
    assert completed.stdout.splitlines()[:2] == [
        f"predictions:  11 -> {tmp_path / 'predictions'}-?????-of-?????.jsonl",
        f"dead letters: 1 -> {tmp_path / 'dead_letters' / 'predictions'}-?????-of-?????.jsonl",
    ]


def test_bad_parameter_from_the_real_process_has_no_traceback() -> None:
    completed = run_python("-m", "trt_text_classifier", "run", "--input=x", "--output=o")
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr
    assert completed.stderr.startswith("error: --onnx_path / --engine_path")
