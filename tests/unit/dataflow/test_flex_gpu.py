"""GPU catalog and the pipeline options it produces."""

from __future__ import annotations

import re

import pytest
from apache_beam.options.pipeline_options import DebugOptions, WorkerOptions

from support.repository import REPOSITORY
from trt_text_classifier.dataflow.accelerator import WorkerGpu, driver_warning, resolve_worker
from trt_text_classifier.dataflow.accelerator_syntax import Accelerator, parse_accelerator
from trt_text_classifier.dataflow.gpu_catalog import GPU_TYPES
from trt_text_classifier.dataflow.gpu_memory import check_engines_fit, engines_per_gpu
from trt_text_classifier.errors import ParameterError
from trt_text_classifier.launch.options import (
    IMAGE_ENV,
    make_pipeline_options,
    with_environment_machine_type,
)
from trt_text_classifier.launch.parameters import PipelineParameters
from trt_text_classifier.launch.preflight import check_workers

IMAGE = "us-central1-docker.pkg.dev/my-project/dataflow/trt-text-classifier:v1"
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
        | {"sdk_container_image": IMAGE}
    )
    options = make_pipeline_options(params, ["--runner=DataflowRunner"], None)
    assert options.get_all_options(drop_default=True) == {
        "runner": "DataflowRunner",
        "experiments": ["use_runner_v2"],
        "machine_type": "n2-standard-4",
        "sdk_container_image": IMAGE,
        "sdk_location": "container",
    }


def test_a_dataflow_launch_without_a_worker_image_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(IMAGE_ENV, raising=False)
    params = PipelineParameters.from_strings({**BASE, "engine_path": "", "onnx_path": "m.onnx"})
    with pytest.raises(ParameterError) as caught:
        make_pipeline_options(params, ["--runner=DataflowRunner"], None)
    assert str(caught.value).startswith(
        "--sdk_container_image: no worker image is known (this launcher image was built without "
        "one: TRT_TEXT_CLASSIFIER_IMAGE is empty)"
    )


def test_the_image_the_launcher_was_built_with_is_the_workers_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(IMAGE_ENV, IMAGE)
    params = PipelineParameters.from_strings({**BASE, "engine_path": "", "onnx_path": "m.onnx"})
    options = make_pipeline_options(params, ["--runner=DataflowRunner"], None)
    assert options.view_as(WorkerOptions).sdk_container_image == IMAGE


def gpu_job_experiments(accelerator: str) -> list[str]:
    params = PipelineParameters.from_strings(
        {**BASE, "accelerator": accelerator, "sdk_container_image": IMAGE}
    )
    worker = check_workers(params, on_dataflow=True)
    options = make_pipeline_options(params, ["--runner=DataflowRunner"], worker)
    return options.view_as(DebugOptions).experiments


def test_mps_jobs_run_several_sdk_processes_sharing_the_gpu() -> None:
    mps = "type:nvidia-l4;count:1;install-nvidia-driver;use_nvidia_mps"
    assert gpu_job_experiments(mps) == ["use_runner_v2"]


def test_gpu_jobs_without_mps_run_one_sdk_process_per_vcpu() -> None:
    """Every vCPU's SDK process tokenizes; the handler shares one engine per worker."""
    plain = "type:nvidia-l4;count:1;install-nvidia-driver"
    assert gpu_job_experiments(plain) == ["use_runner_v2"]


def test_rtx_pro_6000_comes_with_g4_machines() -> None:
    accelerator = parse_accelerator("type:nvidia-rtx-pro-6000;count:2;install-nvidia-driver:latest")
    worker = resolve_worker(accelerator, None)
    assert (worker.machine_type, worker.gpu.compute_capability_text) == ("g4-standard-96", "12.0")
    with pytest.raises(ParameterError, match="nvidia-rtx-pro-6000 attaches only to G4 machines"):
        resolve_worker(accelerator, "g2-standard-24")


def test_a3_edge_carries_eight_h100() -> None:
    eight = parse_accelerator("type:nvidia-h100-80gb;count:8;install-nvidia-driver")
    assert resolve_worker(eight, "a3-edgegpu-8g").machine_type == "a3-edgegpu-8g"
    four = parse_accelerator("type:nvidia-h100-80gb;count:4;install-nvidia-driver")
    with pytest.raises(ParameterError, match="which has 8 nvidia-h100-80gb GPU"):
        resolve_worker(four, "a3-edgegpu-8g")


@pytest.mark.parametrize(
    ("accelerator", "message"),
    [
        (
            "type:nvidia-l4;count:1;install-nvidia-driver:470",
            "--accelerator: install-nvidia-driver:470 installs driver 470, older than the "
            "525.60.13 that nvidia-l4 with this image (CUDA 12.9.1) needs; "
            "use install-nvidia-driver:latest",
        ),
        (
            "type:nvidia-rtx-pro-6000;count:1;install-nvidia-driver:535",
            "--accelerator: install-nvidia-driver:535 installs driver 535, older than the "
            "580 that nvidia-rtx-pro-6000 with this image (CUDA 12.9.1) needs; "
            "use install-nvidia-driver:latest",
        ),
    ],
)
def test_a_driver_option_too_old_for_the_image_or_the_gpu_is_refused(
    accelerator: str, message: str
) -> None:
    with pytest.raises(ParameterError) as caught:
        resolve_worker(parse_accelerator(accelerator), None)
    assert str(caught.value) == message


def test_new_enough_driver_options_pass() -> None:
    for driver in ("install-nvidia-driver:535", "install-nvidia-driver:latest"):
        resolve_worker(parse_accelerator(f"type:nvidia-l4;count:1;{driver}"), None)
    resolve_worker(
        parse_accelerator("type:nvidia-rtx-pro-6000;count:1;install-nvidia-driver:580"), None
    )


def test_the_default_driver_gets_a_warning_where_the_gpu_needs_a_new_one() -> None:
    rtx = resolve_worker(
        parse_accelerator("type:nvidia-rtx-pro-6000;count:1;install-nvidia-driver"), None
    )
    assert driver_warning(rtx) == (
        "--accelerator: nvidia-rtx-pro-6000 needs NVIDIA driver 580 or newer and Dataflow "
        "documents no version for 'install-nvidia-driver'; use install-nvidia-driver:latest"
    )
    l4 = resolve_worker(parse_accelerator("type:nvidia-l4;count:1;install-nvidia-driver"), None)
    assert driver_warning(l4) is None


def mps_worker(accelerator: str, machine: str | None) -> WorkerGpu:
    return resolve_worker(parse_accelerator(accelerator), machine)


ENGINE_BYTES = 440 * 1024 * 1024  # BERT-base fp16 engine, about the weights' size


def test_mps_engines_that_fit_the_gpu_pass() -> None:
    worker = mps_worker("type:nvidia-l4;count:1;install-nvidia-driver;use_nvidia_mps", None)
    assert engines_per_gpu(worker) == 8  # g2-standard-8: one SDK process per vCPU
    check_engines_fit(worker, ENGINE_BYTES, workspace_mib=1024)


def test_mps_engines_beyond_the_gpu_memory_are_refused() -> None:
    worker = mps_worker(
        "type:nvidia-l4;count:1;install-nvidia-driver;use_nvidia_mps", "g2-standard-16"
    )
    with pytest.raises(ParameterError) as caught:
        check_engines_fit(worker, ENGINE_BYTES, workspace_mib=1024)
    assert str(caught.value) == (
        "--accelerator: with use_nvidia_mps, g2-standard-16 runs 16 SDK processes per nvidia-l4 "
        "(24 GiB), each with its own engine (~1976 MiB: engine, workspace, CUDA context): "
        "31616 MiB needed; drop use_nvidia_mps, or pick a machine type with at most 12 vCPUs "
        "per GPU"
    )


def test_without_mps_one_engine_per_gpu_is_counted() -> None:
    worker = mps_worker("type:nvidia-l4;count:1;install-nvidia-driver", "g2-standard-16")
    assert engines_per_gpu(worker) == 1
    check_engines_fit(worker, ENGINE_BYTES, workspace_mib=1024)


def test_mps_processes_spread_over_the_gpus_of_a_machine() -> None:
    worker = mps_worker("type:nvidia-h100-80gb;count:8;install-nvidia-driver;use_nvidia_mps", None)
    assert (worker.machine_type, engines_per_gpu(worker)) == ("a3-highgpu-8g", 26)


def test_environment_machine_type_is_checked_against_the_gpu() -> None:
    params = PipelineParameters.from_strings(
        {**BASE, "accelerator": "type:nvidia-l4;count:1;install-nvidia-driver"}
    )
    params = with_environment_machine_type(params, ["--worker_machine_type=n1-standard-8"])
    with pytest.raises(ParameterError, match="nvidia-l4 attaches only to G2 machines"):
        check_workers(params, on_dataflow=True)


def test_every_gpu_the_docs_name_is_in_the_catalog() -> None:
    readme = (REPOSITORY / "docs" / "engines.md").read_text() + (
        REPOSITORY / "docs" / "operations.md"
    ).read_text()
    named = set(re.findall(r"`(nvidia-[a-z0-9-]+)`", readme))
    assert named and named <= set(GPU_TYPES)
    assert "nvidia-rtx-pro-6000" in named


@pytest.mark.parametrize(
    ("accelerator", "shared"),
    [
        ("type:nvidia-l4;count:1;install-nvidia-driver", True),
        ("type:nvidia-l4;count:1;install-nvidia-driver;use_nvidia_mps", False),
    ],
)
def test_with_mps_each_sdk_process_loads_its_own_engine(accelerator: str, shared: bool) -> None:
    from trt_text_classifier.pipeline import make_handler

    params = PipelineParameters.from_strings({**BASE, "accelerator": accelerator})
    assert make_handler(params).shares_backend_across_processes is shared
