"""GPU catalog and the pipeline options it produces."""

from __future__ import annotations

import pytest

from trt_text_classifier.accelerator_syntax import Accelerator, parse_accelerator
from trt_text_classifier.dataflow.accelerator import resolve_worker
from trt_text_classifier.dataflow.gpu_catalog import GPU_TYPES
from trt_text_classifier.options import make_pipeline_options, with_environment_machine_type
from trt_text_classifier.params import ParameterError, PipelineParameters
from trt_text_classifier.preflight import check_workers

BASE = {"input": "gs://b/in/*.txt", "output": "gs://b/out/p", "engine_path": "gs://b/e.plan"}
USABLE = [name for name, gpu in GPU_TYPES.items() if gpu.compute_capability >= (7, 5)]


@pytest.mark.parametrize("gpu", USABLE)
def test_every_default_machine_passes_its_own_check(gpu: str) -> None:
    for count, machine in GPU_TYPES[gpu].default_machine_types.items():
        accelerator = Accelerator(gpu, count, "install-nvidia-driver")
        assert resolve_worker(accelerator, machine).machine_type == machine
        assert resolve_worker(accelerator, None).machine_type == machine


@pytest.mark.parametrize(
    ("accelerator", "machine"),
    [
        ("type:nvidia-l4;count:4;install-nvidia-driver", "g2-standard-48"),
        ("type:nvidia-tesla-t4;count:4;install-nvidia-driver", "n1-highmem-96"),
        ("type:nvidia-tesla-t4;count:1;install-nvidia-driver", "custom-12-49152"),
        ("type:nvidia-tesla-a100;count:16;install-nvidia-driver", "a2-megagpu-16g"),
        ("type:nvidia-h100-80gb;count:8;install-nvidia-driver:latest;use_nvidia_mps", None),
    ],
)
def test_documented_combinations_are_accepted(accelerator: str, machine: str | None) -> None:
    resolve_worker(parse_accelerator(accelerator), machine)


def test_h100_mega_only_comes_with_eight() -> None:
    with pytest.raises(ParameterError, match="count:1 is not possible for nvidia-h100-mega-80gb"):
        resolve_worker(
            parse_accelerator("type:nvidia-h100-mega-80gb;count:1;install-nvidia-driver"), None
        )


def test_service_option_keeps_the_driver_version_and_mps() -> None:
    value = "type:nvidia-l4;count:1;install-nvidia-driver:latest;use_nvidia_mps"
    assert parse_accelerator(value).service_option() == value


def test_local_runs_get_no_dataflow_options() -> None:
    params = PipelineParameters.from_strings(
        {**BASE, "accelerator": "type:nvidia-l4;count:1;install-nvidia-driver"}
    )
    options = make_pipeline_options(params, [], check_workers(params, on_dataflow=False))
    assert options.get_all_options(drop_default=True) == {"runner": "DirectRunner"}


def test_cpu_dataflow_jobs_get_runner_v2_and_their_machine_type() -> None:
    params = PipelineParameters.from_strings(
        {**BASE, "engine_path": "", "onnx_path": "gs://b/m.onnx", "machine_type": "n2-standard-4"}
    )
    options = make_pipeline_options(params, ["--runner=DataflowRunner"], None)
    assert options.get_all_options(drop_default=True) == {
        "runner": "DataflowRunner",
        "experiments": ["use_runner_v2"],
        "machine_type": "n2-standard-4",
    }


def test_environment_machine_type_is_checked_against_the_gpu() -> None:
    params = PipelineParameters.from_strings(
        {**BASE, "accelerator": "type:nvidia-l4;count:1;install-nvidia-driver"}
    )
    params = with_environment_machine_type(params, ["--worker_machine_type=n1-standard-8"])
    with pytest.raises(ParameterError, match="nvidia-l4 attaches only to G2 machines"):
        check_workers(params, on_dataflow=True)
