"""Parameter mistakes are refused at launch in one line, never ignored.

Beam's PipelineOptions only logs "Discarding unparseable args" for a flag it
does not know, so a misspelled parameter used to run with defaults.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from support.repository import EXAMPLES
from trt_text_classifier.cli import main
from trt_text_classifier.launch.parameters import PipelineParameters


def run_status(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str]:
    status = main(["run", *arguments])
    err = capsys.readouterr().err
    return status, err


@pytest.fixture
def good(demo_onnx: str, tmp_path: Path) -> list[str]:
    return [
        f"--input={EXAMPLES / 'reviews-1.txt'}",
        f"--output={tmp_path / 'p'}",
        f"--onnx_path={demo_onnx}",
    ]


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        (
            "--max_seq_lenght=16",
            "error: --max_seq_lenght: unknown option; did you mean --max_seq_length?",
        ),
        ("--num_wokers=3", "error: --num_wokers: unknown option; did you mean --num_workers?"),
        ("--colour=red", "error: --colour: unknown option (neither a parameter of this "),
        ("stray", "error: 'stray': unexpected argument; options are written --name=value"),
    ],
)
def test_unknown_arguments_are_refused_with_a_suggestion(
    capsys: pytest.CaptureFixture[str], good: list[str], flag: str, message: str
) -> None:
    status, err = run_status(capsys, *good, flag)
    assert status == 2
    assert err.startswith(message), err
    assert err.count("\n") == 1


def test_a_repeated_parameter_is_refused(
    capsys: pytest.CaptureFixture[str], good: list[str]
) -> None:
    status, err = run_status(capsys, *good, f"--input={EXAMPLES / 'reviews-2.txt'}")
    assert status == 2
    assert err.startswith("error: --input: given 2 times; give it once")
    assert err.count("\n") == 1


def test_beam_options_still_pass(capsys: pytest.CaptureFixture[str], good: list[str]) -> None:
    status, err = run_status(
        capsys,
        *good,
        "--runner=DirectRunner",
        "--direct_num_workers=1",
        "--experiments=a",
        "--experiments=b",
    )
    assert status == 0, err


def test_a_misspelled_template_parameter_gets_a_suggestion() -> None:
    with pytest.raises(ValueError) as raised:
        PipelineParameters.from_strings({"input": "gs://b/x", "ouptut": "gs://b/o"})
    assert str(raised.value).startswith("--ouptut: unknown parameter; did you mean --output?")
