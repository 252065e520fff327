"""verify-engine's verdict and exit status, and build-engine --verify.

The engine side of the comparison is injected (no GPU here): an ONNX Runtime
session of the same model stands for an engine that matches, the engine double
(`EngineDoubleBackend`, logits unrelated to the model) for one that does not.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from support.engine_builds import build_engine
from support.engine_doubles import EngineDoubleBackend
from support.repository import EXAMPLES
from trt_text_classifier.backends.onnxruntime_backend import OnnxRuntimeBackend
from trt_text_classifier.commands.verify_engine import (
    DEFAULT_THRESHOLDS,
    Comparison,
    Thresholds,
    run_verification,
)
from trt_text_classifier.sidecar import read_sidecar

pytest.importorskip("tensorrt_rtx")

SENTENCES = str(EXAMPLES / "reviews-1.txt")


def test_a_matching_engine_passes_and_the_thresholds_are_printed(
    demo_engines: dict[str, Path], demo_onnx: str, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = str(demo_engines["fp16"])
    status = run_verification(
        engine, demo_onnx, SENTENCES, load_engine=lambda path: OnnxRuntimeBackend(demo_onnx)
    )
    out = capsys.readouterr().out
    assert status == 0
    assert "label agreement: 100.00%\n" in out
    assert out.endswith(
        "thresholds: label agreement >= 99.00%, max absolute logit error <= 2.500e-01\n"
        "verify-engine: PASSED\n"
    )


def test_an_engine_beyond_the_thresholds_fails_with_a_non_zero_status(
    demo_engines: dict[str, Path], demo_onnx: str, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = str(demo_engines["fp16"])
    status = run_verification(
        engine,
        demo_onnx,
        SENTENCES,
        load_engine=lambda path: EngineDoubleBackend(read_sidecar(path)),
    )
    last = capsys.readouterr().out.splitlines()[-1]
    assert status == 1
    assert last.startswith("verify-engine: FAILED: ")
    assert last.endswith(" above 2.500e-01")
    assert "; max absolute logit error " in last


def test_thresholds_name_every_failure() -> None:
    comparison = Comparison(records=100, max_abs_error=0.5, max_rel_error=0.1, label_agreement=0.9)
    assert comparison.failures(Thresholds(min_label_agreement=0.99, max_abs_error=0.25)) == [
        "label agreement 90.00% below 99.00%",
        "max absolute logit error 5.000e-01 above 2.500e-01",
    ]
    assert comparison.failures(Thresholds(min_label_agreement=0.9, max_abs_error=0.5)) == []
    assert Thresholds(min_label_agreement=0.99, max_abs_error=0.25) == DEFAULT_THRESHOLDS


def test_build_engine_verify_runs_the_verification_right_after_the_build(
    demo_onnx: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No GPU here: the build succeeds, the verification refuses, the status says so."""
    engine = tmp_path / "verified.plan"
    status = build_engine(
        "--onnx", demo_onnx, "--output", str(engine), "--precision", "fp32", "--verify", SENTENCES
    )
    captured = capsys.readouterr()
    assert status == 1
    assert engine.exists()
    assert captured.out.startswith(f"engine: {engine} (")
    assert captured.err.startswith(
        "error: verify-engine runs the engine, and cannot here: no usable NVIDIA GPU here ("
    )
