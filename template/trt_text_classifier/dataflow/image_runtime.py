"""What the container image runs on: its CUDA, TensorRT and the oldest NVIDIA driver it needs.

`image_runtime.json` (beside this file, installed with the package) is the
record; this module imports nothing of the project, so the launch checks and the
backends' GPU probe can both use it; container/Dockerfile repeats it in its labels (a test keeps the two
equal), `doctor --image` checks the image against it, and launch checks the
accelerator's driver option against it.

Why 525.60.13: the image is CUDA 12.x, and CUDA 12 applications run on any
R525 or newer driver through CUDA's minor version compatibility (NVIDIA CUDA
Toolkit release notes, "CUDA Toolkit and Corresponding Driver Versions", and
"CUDA Compatibility"). NGC's newer-driver note assumes the forward
compatibility package its own entrypoint enables; this image's entrypoint is
Beam's boot, so only minor version compatibility applies.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class ImageRuntime:
    base_image: str
    python: str
    cuda: str
    tensorrt: str
    min_driver: str

    @property
    def cuda_major(self) -> int:
        return int(self.cuda.split(".")[0])


@cache
def image_runtime() -> ImageRuntime:
    text = resources.files(__package__).joinpath("image_runtime.json").read_text()
    return ImageRuntime(**json.loads(text))


def driver_version(text: str) -> tuple[int, ...]:
    """'535.104.05' -> (535, 104, 5); '575' -> (575,)."""
    return tuple(int(part) for part in text.split("."))


def driver_is_older(installed: str, needed: str) -> bool:
    """Compare as far as both are given: driver 535 is not older than 535.86."""
    have, need = driver_version(installed), driver_version(needed)
    width = min(len(have), len(need))
    return have[:width] < need[:width]


def driver_too_old_message(installed: str, needed: str) -> str:
    return (
        f"NVIDIA driver {installed} is older than the {needed} this image needs "
        f"(CUDA {image_runtime().cuda}); launch with an accelerator whose driver option "
        "installs a newer one, e.g. install-nvidia-driver:latest"
    )


DRIVER_VERSION_FILE = "/proc/driver/nvidia/version"
"""The kernel module's version line; containers see the host's."""


def installed_driver() -> str | None:
    """The NVIDIA driver version of this machine, None where no driver is loaded."""
    try:
        with open(DRIVER_VERSION_FILE, encoding="utf-8") as handle:
            text = handle.read()
    except OSError:
        return None
    match = re.search(r"Kernel Module(?: for [a-z0-9_]+)?\s+([0-9]+(?:\.[0-9]+)+)", text)
    return match.group(1) if match else None


def driver_too_old_here() -> str | None:
    """Why the GPU is unusable when the cause is the driver's age, else None."""
    installed = installed_driver()
    needed = image_runtime().min_driver
    if installed is None or not driver_is_older(installed, needed):
        return None
    return driver_too_old_message(installed, needed)
