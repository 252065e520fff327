"""Launch checks for engines that read only the sidecar: GPUs per worker."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.repository import EXAMPLES
from trt_text_classifier.errors import ParameterError
from trt_text_classifier.launch.parameters import PipelineParameters
from trt_text_classifier.launch.preflight import check_parameters

pytest.importorskip("tensorrt_rtx")


def engine_params(engine: Path, accelerator: str) -> PipelineParameters:
    return PipelineParameters(
        input=str(EXAMPLES / "reviews-1.txt"),
        output=str(engine.parent / "out" / "predictions"),
        engine_path=str(engine),
        accelerator=accelerator,
    )


def test_an_engine_on_workers_with_two_gpus_is_refused_at_launch(
    demo_engines: dict[str, Path],
) -> None:
    engine = demo_engines["fp32"]
    params = engine_params(engine, "type:nvidia-l4;count:2;install-nvidia-driver")
    with pytest.raises(ParameterError) as error:
        check_parameters(params, runner="DataflowRunner")
    assert str(error.value) == (
        f"--accelerator: count:2 with --engine_path={str(engine)!r}: a worker serves its engine "
        "on one GPU (one model per worker, shared by its SDK processes), so 1 of the 2 GPUs "
        "would sit idle; use count:1 and scale out with more workers (Dataflow's "
        "--max_num_workers)"
    )


def test_an_engine_on_workers_with_one_gpu_passes(demo_engines: dict[str, Path]) -> None:
    params = engine_params(demo_engines["fp32"], "type:nvidia-l4;count:1;install-nvidia-driver")
    check_parameters(params, runner="DataflowRunner")
