"""`trt-text-classifier doctor`: what this environment (normally the container) can run.

Cloud Build runs `doctor --image` in the freshly built image: it fails when
the image lacks a piece the launcher or the workers need (Beam's boot binary,
the Flex Template launcher, the entry file, TensorRT and CUDA of the versions
`image_runtime.json` records, cuda-python, the Beam version setup.py pins), and
when Beam's boot, replayed with the image's environment (`worker_boot`), would
start the SDK processes with an interpreter that cannot import the worker's
modules. A GPU is reported when one is visible, never required (build machines
have none); a driver older than the image needs is a failure.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import os
import platform
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trt_text_classifier.sidecar import Builder

HELP = (
    "report Python, Beam, TensorRT(-RTX), cuda-bindings, boot/launcher, GPU; --image fails on gaps"
)

BOOT = "/opt/apache/beam/boot"
LAUNCHER = "/opt/google/dataflow/python_template_launcher"
PY_FILE_ENV = "FLEX_TEMPLATE_PYTHON_PY_FILE"


@dataclass(frozen=True)
class Finding:
    name: str
    value: str
    ok: bool


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="trt-text-classifier doctor", description=HELP)
    parser.add_argument(
        "--image",
        action="store_true",
        help="require everything the container must hold (exit 1 on any gap)",
    )
    args = parser.parse_args(list(argv))
    findings = collect(image=args.image)
    print(where_running(inside_image()))
    for finding in findings:
        mark = "ok  " if finding.ok else "MISSING"
        print(f"{mark:<8}{finding.name:<30}{finding.value}")
    if args.image and not all(finding.ok for finding in findings):
        return 1
    return 0


def inside_image() -> bool:
    """Whether this is the project's image: its Dockerfile installs Beam's boot and sets the entry file."""
    return os.access(BOOT, os.X_OK) and PY_FILE_ENV in os.environ


def where_running(inside: bool) -> str:
    """One line saying where doctor runs and what a MISSING line means there."""
    if inside:
        return (
            f"inside the project's image ({BOOT} present, {PY_FILE_ENV} set): "
            "every MISSING line below is a gap the launcher or the workers would hit"
        )
    return (
        f"not inside the project's image (no {BOOT}, or {PY_FILE_ENV} unset): beam boot, "
        f"template launcher and {PY_FILE_ENV} exist only in the image, so MISSING for them is "
        "expected here; `doctor --image` in the image (Cloud Build runs it) fails on gaps"
    )


def collect(image: bool = False) -> list[Finding]:
    """What is here; `image` adds the boot-path replay (it creates a venv: seconds)."""
    from trt_text_classifier.dataflow.engine_check import IMAGE_RUNTIME_VERSIONS
    from trt_text_classifier.dataflow.image_runtime import image_runtime

    runtime = image_runtime()
    py_file = os.environ.get(PY_FILE_ENV, "")
    findings = [
        Finding("python", platform.python_version(), True),
        _package("apache-beam", lambda version: version == _pinned_beam()),
        *(_runtime(library, version) for library, version in IMAGE_RUNTIME_VERSIONS.items()),
        _package("cuda-bindings", lambda version: version.split(".")[0] == str(runtime.cuda_major)),
        Finding("beam boot", BOOT, os.access(BOOT, os.X_OK)),
        Finding("template launcher", LAUNCHER, os.access(LAUNCHER, os.X_OK)),
        Finding(
            PY_FILE_ENV, py_file or "(unset)", os.path.isabs(py_file) and os.path.isfile(py_file)
        ),
    ]
    if image:
        findings.append(_boot_path())
    findings.append(_driver(runtime.min_driver))
    findings.append(_gpu())
    return findings


def _boot_path() -> Finding:
    """Beam's boot, replayed with this environment (see `worker_boot`)."""
    from trt_text_classifier.dataflow.worker_boot import check_boot_path

    result = check_boot_path(os.environ)
    return Finding("worker boot path", result.describe(), result.ok)


def _driver(needed: str) -> Finding:
    from trt_text_classifier.dataflow.image_runtime import driver_is_older, installed_driver

    installed = installed_driver()
    if installed is None:
        return Finding("nvidia driver", f"none loaded (image needs {needed} or newer)", True)
    too_old = driver_is_older(installed, needed)
    text = f"{installed} (image needs {needed} or newer)"
    return Finding("nvidia driver", f"{text}: too old" if too_old else text, not too_old)


def _pinned_beam() -> str:
    """The Beam version the installed project requires (setup.py's pin)."""
    for requirement in importlib.metadata.requires("trt-text-classifier") or []:
        if requirement.startswith("apache-beam") and "==" in requirement:
            return requirement.split("==")[1].split(";")[0].strip()
    return ""


def _package(name: str, acceptable: Callable[[str], bool]) -> Finding:
    try:
        version = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return Finding(name, "not installed", False)
    return Finding(name, version, acceptable(version))


def _runtime(library: Builder, expected: str) -> Finding:
    """An engine runtime of the image, at the version launch checks assume."""
    from trt_text_classifier.sidecar import BUILDER_MODULES, same_version

    try:
        module = importlib.import_module(BUILDER_MODULES[library])
    except ImportError as error:
        return Finding(library, f"not importable ({error})", False)
    version = module.__version__
    return Finding(library, f"{version} (need {expected})", same_version(version, expected))


def _gpu() -> Finding:
    """The first GPU's name and compute capability through cuda-python's driver API."""
    try:
        from cuda.bindings import driver
    except ImportError:
        return Finding("gpu", "not checked (cuda-python missing)", True)
    try:
        (status,) = driver.cuInit(0)
    except RuntimeError as error:  # cuda-python raises this when libcuda.so is absent
        return Finding("gpu", f"none visible ({error})", True)
    if status != driver.CUresult.CUDA_SUCCESS:
        return Finding("gpu", f"none visible ({status.name})", True)
    _, count = driver.cuDeviceGetCount()
    if count == 0:
        return Finding("gpu", "none visible", True)
    _, device = driver.cuDeviceGet(0)
    _, name = driver.cuDeviceGetName(64, device)
    attribute = driver.CUdevice_attribute
    _, major = driver.cuDeviceGetAttribute(
        attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device
    )
    _, minor = driver.cuDeviceGetAttribute(
        attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device
    )
    label = name.split(b"\0", 1)[0].decode()
    return Finding("gpu", f"{count} x {label}, compute capability {major}.{minor}", True)
