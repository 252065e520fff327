"""The accelerator checked against the GPU catalog.

`accelerator_syntax.parse_accelerator` checks the syntax (no catalog);
`resolve_worker` checks the GPU type, the machine type and the count against
the catalog and returns what the workers run on. Every refusal names the
parameter and says what to use instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from trt_text_classifier.dataflow.accelerator_syntax import Accelerator
from trt_text_classifier.dataflow.gpu_catalog import (
    GPU_TYPES,
    MIN_COMPUTE_CAPABILITY_TENSORRT_10,
    GpuType,
    gpus_of_fixed_machine,
    machine_family,
    n1_vcpus,
)
from trt_text_classifier.dataflow.image_runtime import driver_is_older, image_runtime
from trt_text_classifier.errors import ParameterError


@dataclass(frozen=True)
class WorkerGpu:
    """The checked accelerator, its catalog entry and the machine type to use."""

    accelerator: Accelerator
    gpu: GpuType
    machine_type: str


def resolve_worker(accelerator: Accelerator, machine_type: str | None) -> WorkerGpu:
    """Check the accelerator and machine type against the catalog."""
    gpu = _gpu_type(accelerator)
    if gpu.compute_capability < MIN_COMPUTE_CAPABILITY_TENSORRT_10:
        raise ParameterError(
            f"--accelerator: {gpu.name} has compute capability {gpu.compute_capability_text}; "
            "TensorRT 10 and later need 7.5 or newer; use nvidia-tesla-t4 (n1) or nvidia-l4 (g2)"
        )
    if accelerator.count not in gpu.counts:
        raise ParameterError(
            f"--accelerator: count:{accelerator.count} is not possible for {gpu.name}; "
            f"use one of {_join(gpu.counts)}"
        )
    if machine_type is None:
        machine_type = gpu.default_machine_types[accelerator.count]
    else:
        _check_machine(accelerator, gpu, machine_type)
    _check_driver(accelerator, gpu)
    return WorkerGpu(accelerator, gpu, machine_type)


def needed_driver(gpu: GpuType) -> str:
    """The oldest driver that runs both the image (its CUDA) and the GPU."""
    image = image_runtime().min_driver
    if gpu.min_driver and driver_is_older(image, gpu.min_driver):
        return gpu.min_driver
    return image


def requested_driver(accelerator: Accelerator) -> str | None:
    """The driver version the option names (install-nvidia-driver:535), None for default/latest."""
    version = accelerator.driver.partition(":")[2]
    return version if re.fullmatch(r"[0-9]+(\.[0-9]+)*", version) else None


def _check_driver(accelerator: Accelerator, gpu: GpuType) -> None:
    requested = requested_driver(accelerator)
    needed = needed_driver(gpu)
    if requested is not None and driver_is_older(requested, needed):
        raise ParameterError(
            f"--accelerator: {accelerator.driver} installs driver {requested}, older than the "
            f"{needed} that {gpu.name} with this image (CUDA {image_runtime().cuda}) needs; "
            f"use install-nvidia-driver:latest"
        )


def driver_warning(worker: WorkerGpu) -> str | None:
    """A caution when the default driver may be too old for the GPU (no version is documented)."""
    accelerator = worker.accelerator
    if requested_driver(accelerator) is not None or accelerator.driver.endswith(":latest"):
        return None
    if worker.gpu.min_driver is None:
        return None
    return (
        f"--accelerator: {worker.gpu.name} needs NVIDIA driver {worker.gpu.min_driver} or newer "
        f"and Dataflow documents no version for {accelerator.driver!r}; use "
        "install-nvidia-driver:latest"
    )


def _gpu_type(accelerator: Accelerator) -> GpuType:
    try:
        return GPU_TYPES[accelerator.gpu_type]
    except KeyError:
        raise ParameterError(
            f"--accelerator: unknown GPU type {accelerator.gpu_type!r}; "
            f"use one of {_join(usable_gpu_types())}"
        ) from None


def usable_gpu_types() -> list[str]:
    """The GPU types TensorRT 10+ runs on."""
    return [
        name
        for name, gpu in GPU_TYPES.items()
        if gpu.compute_capability >= MIN_COMPUTE_CAPABILITY_TENSORRT_10
    ]


def _check_machine(accelerator: Accelerator, gpu: GpuType, machine_type: str) -> None:
    default = gpu.default_machine_types[accelerator.count]
    family = machine_family(machine_type)
    if family != gpu.family:
        raise ParameterError(
            f"--machine_type={machine_type!r}: {gpu.name} attaches only to "
            f"{gpu.family.upper()} machines; use {default!r} or leave machine_type empty"
        )
    if gpu.n1_max_vcpus is not None:
        _check_n1_vcpus(accelerator, gpu, machine_type)
        return
    fixed = _fixed_count(gpu, machine_type)
    if fixed is None:
        raise ParameterError(
            f"--machine_type={machine_type!r}: not a machine type with {gpu.name} GPUs; "
            f"use {default!r} or leave machine_type empty"
        )
    if fixed != accelerator.count:
        raise ParameterError(
            f"--accelerator: count:{accelerator.count} does not match --machine_type="
            f"{machine_type!r}, which has {fixed} {gpu.name} GPU(s); use count:{fixed} "
            f"or machine type {default!r}"
        )


def _fixed_count(gpu: GpuType, machine_type: str) -> int | None:
    if gpu.name == "nvidia-l4":
        return gpus_of_fixed_machine(machine_type) if machine_type.startswith("g2-") else None
    if (
        machine_type in gpu.default_machine_types.values()
        or machine_type in gpu.other_machine_types
    ):
        return gpus_of_fixed_machine(machine_type)
    return None


def _check_n1_vcpus(accelerator: Accelerator, gpu: GpuType, machine_type: str) -> None:
    vcpus = n1_vcpus(machine_type)
    limit = (gpu.n1_max_vcpus or {})[accelerator.count]
    if vcpus is None or vcpus > limit:
        raise ParameterError(
            f"--machine_type={machine_type!r}: with {accelerator.count} {gpu.name} GPU(s) an N1 "
            f"machine may have at most {limit} vCPUs; use "
            f"{gpu.default_machine_types[accelerator.count]!r} or more GPUs"
        )


def _join(items: Iterable[object]) -> str:
    return ", ".join(str(item) for item in items)
