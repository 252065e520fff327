"""Serving an engine without a usable GPU: launch-time refusals, loader, verify-engine, handler."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from support.repository import EXAMPLES
from trt_text_classifier import cli
from trt_text_classifier.backends.base import BackendError
from trt_text_classifier.commands.verify_engine import Comparison, compare_logits
from trt_text_classifier.errors import ParameterError
from trt_text_classifier.launch.parameters import PipelineParameters
from trt_text_classifier.launch.preflight import check_parameters
from trt_text_classifier.serving.classifier import TextClassifier
from trt_text_classifier.serving.handler import TextClassificationModelHandler

pytest.importorskip("tensorrt_rtx")


def run_args(engine: Path, tmp_path: Path, *extra: str) -> list[str]:
    return [
        "run",
        f"--input={EXAMPLES / 'reviews-1.txt'}",
        f"--output={tmp_path / 'out' / 'predictions'}",
        f"--engine_path={engine}",
        *extra,
    ]


def test_local_run_without_a_gpu_exits_with_one_line(
    demo_engines: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = demo_engines["fp32"]
    assert cli.main(run_args(engine, tmp_path)) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: --engine_path={str(engine)!r}: no usable NVIDIA GPU here (")
    assert err.endswith(
        "; run TensorRT engines on a GPU worker (Dataflow with worker_accelerator) or serve "
        "the ONNX model with --onnx_path\n"
    )
    assert err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_dataflow_launch_does_not_need_a_local_gpu(
    demo_engines: dict[str, Path], tmp_path: Path
) -> None:
    params = PipelineParameters(
        input=str(EXAMPLES / "reviews-1.txt"),
        output=str(tmp_path / "out" / "predictions"),
        engine_path=str(demo_engines["sm75"]),
        accelerator="type:nvidia-tesla-t4;count:1;install-nvidia-driver",
    )
    check_parameters(params, runner="DataflowRunner")
    with pytest.raises(ParameterError, match="no usable NVIDIA GPU here"):
        check_parameters(params, runner="DirectRunner")


def test_engine_without_its_sidecar_is_refused(
    tmp_path: Path, demo_engines: dict[str, Path]
) -> None:
    engine = tmp_path / "lonely.plan"
    engine.write_bytes(demo_engines["fp32"].read_bytes())
    params = PipelineParameters(
        input=str(EXAMPLES / "reviews-1.txt"),
        output=str(tmp_path / "p"),
        engine_path=str(engine),
        accelerator="type:nvidia-l4;count:1;install-nvidia-driver",
    )
    with pytest.raises(ParameterError) as error:
        check_parameters(params, runner="DataflowRunner")
    assert str(error.value) == (
        f"--engine_path={str(engine)!r}: its sidecar {engine}.json is missing; copy the "
        ".plan.json that build-engine wrote beside the engine"
    )


def test_loader_refuses_before_deserializing_where_no_gpu_is_present(
    demo_engines: dict[str, Path],
) -> None:
    from trt_text_classifier.serving.loading import load_classifier

    with pytest.raises(BackendError, match=r"^no usable NVIDIA GPU here"):
        load_classifier(str(demo_engines["fp32"]), None, 64)


def test_verify_engine_refuses_without_a_gpu(
    demo_engines: dict[str, Path], demo_onnx: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status = cli.main(
        [
            "verify-engine",
            f"--engine={demo_engines['fp16']}",
            f"--onnx={demo_onnx}",
            f"--input={EXAMPLES / 'reviews-1.txt'}",
        ]
    )
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith(
        "error: verify-engine runs the engine, and cannot here: no usable NVIDIA GPU here ("
    )
    assert err.count("\n") == 1


def test_compare_logits_reports_errors_and_label_agreement() -> None:
    reference = np.array([[1.0, -1.0], [0.5, 0.25], [-2.0, 2.0]], dtype=np.float32)
    candidate = np.array([[1.5, -1.0], [0.25, 0.5], [-2.0, 2.0]], dtype=np.float32)
    assert compare_logits(reference, candidate) == Comparison(
        records=3, max_abs_error=0.5, max_rel_error=1.0, label_agreement=2 / 3
    )


def test_handler_model_refresh_loads_the_checked_engine(
    demo_engines: dict[str, Path], demo_onnx: str
) -> None:
    from trt_text_classifier.serving.loading import load_onnx_classifier

    loaded: list[tuple[str, str | None, int]] = []

    def loader(path: str, tokenizer: str | None, max_seq_length: int) -> TextClassifier:
        # No GPU here runs the engine: the demo ONNX model answers for it.
        loaded.append((path, tokenizer, max_seq_length))
        return load_onnx_classifier(demo_onnx, None, max_seq_length)

    first, second = str(demo_engines["fp32"]), str(demo_engines["fp16"])
    handler = TextClassificationModelHandler(
        first, max_seq_length=64, max_batch_size=16, loader=loader
    )
    handler.load_model()
    handler.load_model()
    handler.update_model_path(second)  # its sidecar: profile 64 tokens, batch 16, same labels
    handler.load_model()
    assert loaded == [(first, None, 64), (second, None, 64)]
    assert handler.model_path == second


class SidecarOnlyBackend:
    """Stands in for TensorRTBackend.from_path where no GPU is present: the real sidecar only."""

    def __init__(self, engine_path: str) -> None:
        from trt_text_classifier.sidecar import read_sidecar

        self.sidecar = read_sidecar(engine_path)

    def close(self) -> None:
        pass


def test_an_engine_is_named_by_its_file_and_the_sidecar_sha256(
    demo_engines: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from trt_text_classifier.backends.tensorrt_backend import TensorRTBackend
    from trt_text_classifier.serving.loading import load_classifier

    monkeypatch.setattr(TensorRTBackend, "from_path", SidecarOnlyBackend)
    engine = demo_engines["fp32"]
    classifier = load_classifier(str(engine), None, 64)
    digest = hashlib.sha256(engine.read_bytes()).hexdigest()
    assert classifier.identity == f"demo-fp32.plan@{digest[:12]}"
