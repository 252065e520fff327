"""The image's recorded CUDA/TensorRT/driver and the driver messages built on it."""

from __future__ import annotations

import pathlib

import pytest

from trt_text_classifier.backends.base import BackendError
from trt_text_classifier.backends.tensorrt_backend import probe_runtime
from trt_text_classifier.dataflow import image_runtime as runtime_module
from trt_text_classifier.dataflow.image_runtime import (
    driver_is_older,
    image_runtime,
    installed_driver,
)

# The first line of /proc/driver/nvidia/version as NVIDIA's kernel modules write it.
OLD_DRIVER = (
    "NVRM version: NVIDIA UNIX x86_64 Kernel Module  470.256.02  Thu May  2 14:37:44 UTC 2024\n"
    "GCC version:  gcc version 12.2.0 (Debian 12.2.0-14)\n"
)
OPEN_KERNEL_DRIVER = (
    "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.159.04  Release Build\n"
)


@pytest.fixture
def driver_file(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> pathlib.Path:
    path = tmp_path / "version"
    monkeypatch.setattr(runtime_module, "DRIVER_VERSION_FILE", str(path))
    return path


def test_the_image_is_cuda_12_with_its_minimum_driver() -> None:
    runtime = image_runtime()
    assert (runtime.cuda, runtime.tensorrt, runtime.min_driver) == (
        "12.9.1",
        "10.11.0.33",
        "525.60.13",
    )


@pytest.mark.parametrize(
    ("installed", "needed", "older"),
    [("470.256.02", "525.60.13", True), ("535", "525.60.13", False), ("525", "525.60.13", False),
     ("525.60.12", "525.60.13", True), ("580.159.04", "575", False)],
)  # fmt: skip
def test_driver_versions_compare_as_far_as_both_are_given(
    installed: str, needed: str, older: bool
) -> None:
    assert driver_is_older(installed, needed) is older


@pytest.mark.parametrize(
    ("text", "version"), [(OLD_DRIVER, "470.256.02"), (OPEN_KERNEL_DRIVER, "580.159.04")]
)
def test_the_driver_version_is_read_from_the_kernel_module(
    driver_file: pathlib.Path, text: str, version: str
) -> None:
    driver_file.write_text(text)
    assert installed_driver() == version


def test_no_driver_file_means_no_driver(driver_file: pathlib.Path) -> None:
    assert installed_driver() is None


def test_a_too_old_driver_is_named_instead_of_no_usable_gpu(driver_file: pathlib.Path) -> None:
    # This machine has no GPU, so the CUDA probe fails as it does on a worker whose driver is
    # too old for the image's CUDA (cudaErrorInsufficientDriver); the driver file says why.
    driver_file.write_text(OLD_DRIVER)
    with pytest.raises(BackendError) as caught:
        probe_runtime("tensorrt-rtx")
    assert str(caught.value) == (
        "NVIDIA driver 470.256.02 is older than the 525.60.13 this image needs (CUDA 12.9.1); "
        "launch with an accelerator whose driver option installs a newer one, "
        "e.g. install-nvidia-driver:latest"
    )


def test_without_a_driver_the_gpu_is_reported_missing(driver_file: pathlib.Path) -> None:
    with pytest.raises(BackendError, match=r"^no usable NVIDIA GPU here"):
        probe_runtime("tensorrt-rtx")
