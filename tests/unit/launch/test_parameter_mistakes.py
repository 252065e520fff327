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
