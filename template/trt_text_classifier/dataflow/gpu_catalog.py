"""What Dataflow can attach to a worker: GPU types, their machines and counts.

Facts from Google's documentation (Dataflow "GPU support", Compute Engine "GPU
machine types"), as of 2026:
- T4, P4, V100 and P100 attach to N1 machines; how many depends on the vCPUs.
- L4 comes only with G2 machines, A100 40GB with A2 (highgpu, megagpu),
  A100 80GB with A2 ultragpu, H100 80GB with A3 highgpu, H100 Mega with A3
  megagpu; these machines have a fixed GPU count named in the machine type.
- RTX PRO 6000 (Blackwell Server Edition) comes only with G4 machines, 96 GB;
  H100 80GB also comes with A3 Edge (a3-edgegpu-8g), 208 vCPUs like a3-highgpu-8g.
- TensorRT 10 and later run only on compute capability 7.5 or newer.
Each entry names its source; the GPU memory is the board's (NVIDIA datasheets),
used to check how many engines fit on one GPU.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MIN_COMPUTE_CAPABILITY_TENSORRT_10 = (7, 5)


@dataclass(frozen=True)
class GpuType:
    """One Dataflow accelerator type."""

    name: str
    compute_capability: tuple[int, int]
    family: str
    """The machine series the GPU attaches to (n1, g2, a2, a3)."""
    default_machine_types: dict[int, str]
    """GPU count -> the machine type used when the user names none."""
    memory_gib: int
    """GPU memory of one board."""
    n1_max_vcpus: dict[int, int] | None = None
    """For N1 GPUs: GPU count -> the most vCPUs a machine may have with that many."""
    other_machine_types: dict[str, int] = field(default_factory=dict)
    """Further machine types with this GPU (machine type -> GPU count), beside the defaults."""
    min_driver: str | None = None
    """The NVIDIA driver the GPU itself needs, where that is newer than the image's minimum."""

    @property
    def compute_capability_text(self) -> str:
        return f"{self.compute_capability[0]}.{self.compute_capability[1]}"

    @property
    def counts(self) -> tuple[int, ...]:
        return tuple(sorted(self.default_machine_types))


def _n1(
    name: str, capability: tuple[int, int], memory_gib: int, max_vcpus: dict[int, int]
) -> GpuType:
    defaults = {count: f"n1-standard-{min(8 * count, limit)}" for count, limit in max_vcpus.items()}
    return GpuType(name, capability, "n1", defaults, memory_gib, max_vcpus)


GPU_TYPES: dict[str, GpuType] = {
    gpu.name: gpu
    for gpu in (
        # Dataflow "GPU support" and Compute Engine "GPU machine types" (N1 section) for the
        # counts and vCPU limits; NVIDIA "CUDA GPUs" for the compute capabilities.
        _n1("nvidia-tesla-t4", (7, 5), 16, {1: 48, 2: 48, 4: 96}),
        _n1("nvidia-tesla-v100", (7, 0), 16, {1: 12, 2: 24, 4: 48, 8: 96}),
        _n1("nvidia-tesla-p100", (6, 0), 16, {1: 16, 2: 32, 4: 64}),
        _n1("nvidia-tesla-p4", (6, 1), 8, {1: 24, 2: 48, 4: 96}),
        # Compute Engine "GPU machine types", G2 section: L4, 24 GB.
        GpuType(
            "nvidia-l4",
            (8, 9),
            "g2",
            {1: "g2-standard-8", 2: "g2-standard-24", 4: "g2-standard-48", 8: "g2-standard-96"},
            24,
        ),
        # A2 Standard (highgpu, megagpu): A100 40GB.
        GpuType(
            "nvidia-tesla-a100",
            (8, 0),
            "a2",
            {1: "a2-highgpu-1g", 2: "a2-highgpu-2g", 4: "a2-highgpu-4g", 8: "a2-highgpu-8g"}
            | {16: "a2-megagpu-16g"},
            40,
        ),
        # A2 Ultra: A100 80GB.
        GpuType(
            "nvidia-a100-80gb", (8, 0), "a2", {n: f"a2-ultragpu-{n}g" for n in (1, 2, 4, 8)}, 80
        ),
        # A3 High (1, 2, 4, 8 GPUs) and A3 Edge (a3-edgegpu-8g, 8 GPUs): H100 80GB.
        GpuType(
            "nvidia-h100-80gb",
            (9, 0),
            "a3",
            {n: f"a3-highgpu-{n}g" for n in (1, 2, 4, 8)},
            80,
            other_machine_types={"a3-edgegpu-8g": 8},
        ),
        # A3 Mega: H100 Mega 80GB, 8 GPUs only.
        GpuType("nvidia-h100-mega-80gb", (9, 0), "a3", {8: "a3-megagpu-8g"}, 80),
        # Compute Engine "GPU machine types", G4 section: RTX PRO 6000 Blackwell Server Edition,
        # 96 GB, g4-standard-48/96/192/384 with 1/2/4/8 GPUs; compute capability 12.0 (NVIDIA
        # "CUDA GPUs"). Driver: NVIDIA's validated-driver tables list no R570 data center driver
        # for Blackwell and 580.95.05 in R580, so R580 is required (newer than the image's).
        GpuType(
            "nvidia-rtx-pro-6000",
            (12, 0),
            "g4",
            {1: "g4-standard-48", 2: "g4-standard-96", 4: "g4-standard-192", 8: "g4-standard-384"},
            96,
            min_driver="580",
        ),
    )
}

FIXED_MACHINE_VCPUS = {
    **{f"a2-highgpu-{n}g": 12 * n for n in (1, 2, 4, 8)},
    "a2-megagpu-16g": 96,
    **{f"a2-ultragpu-{n}g": 12 * n for n in (1, 2, 4, 8)},
    **{f"a3-highgpu-{n}g": 26 * n for n in (1, 2, 4, 8)},
    "a3-megagpu-8g": 208,
    "a3-edgegpu-8g": 208,
}
"""vCPUs of the A2/A3 machine types (Compute Engine "GPU machine types")."""

G2_GPU_COUNTS = {4: 1, 8: 1, 12: 1, 16: 1, 24: 2, 32: 1, 48: 4, 96: 8}
"""g2-standard-N (N vCPUs) -> its fixed number of L4 GPUs."""

_N1_MACHINE = re.compile(r"^(?:n1-(?:standard|highmem|highcpu)-(\d+)|(?:n1-)?custom-(\d+)-\d+)$")
_G2_MACHINE = re.compile(r"^g2-standard-(\d+)$")
_STANDARD_MACHINE = re.compile(r"^(?:g2|g4)-standard-(\d+)$")


def machine_family(machine_type: str) -> str:
    """The series of a machine type: 'custom-8-30720' and 'n1-standard-8' are n1."""
    if _N1_MACHINE.match(machine_type):
        return "n1"
    return machine_type.split("-", 1)[0]


def gpus_of_fixed_machine(machine_type: str) -> int | None:
    """The GPU count built into a G2/A2/A3 machine type, or None if it has none fixed."""
    g2 = _G2_MACHINE.match(machine_type)
    if g2:
        return G2_GPU_COUNTS.get(int(g2.group(1)))
    for gpu in GPU_TYPES.values():
        if gpu.family == "n1":
            continue
        machines = {machine: count for count, machine in gpu.default_machine_types.items()}
        if machine_type in machines | gpu.other_machine_types:
            return (machines | gpu.other_machine_types)[machine_type]
    return None


def machine_vcpus(machine_type: str) -> int | None:
    """vCPUs of a machine type: from its name (N1, G2, G4) or the A2/A3 table."""
    standard = _STANDARD_MACHINE.match(machine_type)
    if standard:
        return int(standard.group(1))
    return n1_vcpus(machine_type) or FIXED_MACHINE_VCPUS.get(machine_type)


def n1_vcpus(machine_type: str) -> int | None:
    match = _N1_MACHINE.match(machine_type)
    if not match:
        return None
    return int(match.group(1) or match.group(2))


CUDA_DEVICE_NAMES: dict[str, str] = {
    "nvidia-tesla-t4": "Tesla T4",
    "nvidia-tesla-v100": "Tesla V100-SXM2-16GB",
    "nvidia-tesla-p100": "Tesla P100-PCIE-16GB",
    "nvidia-tesla-p4": "Tesla P4",
    "nvidia-l4": "NVIDIA L4",
    "nvidia-tesla-a100": "NVIDIA A100-SXM4-40GB",
    "nvidia-a100-80gb": "NVIDIA A100-SXM4-80GB",
    "nvidia-h100-80gb": "NVIDIA H100 80GB HBM3",
    "nvidia-h100-mega-80gb": "NVIDIA H100 80GB HBM3",
    "nvidia-rtx-pro-6000": "NVIDIA RTX PRO 6000 Blackwell Server Edition",
}
"""The name CUDA reports (`cudaGetDeviceProperties().name`, `nvidia-smi`) for each accelerator
type: the engine cache keys entries by it, and the launch uses it to say whether the cache
holds an engine for the chosen accelerator. From NVIDIA's and Google's published `nvidia-smi`
outputs; where a name is wrong the launch reports a miss and the workers still key by what
their GPU reports."""


def cuda_device_name(gpu: GpuType) -> str:
    return CUDA_DEVICE_NAMES.get(gpu.name, gpu.name)
