"""What Dataflow can attach to a worker: GPU types, their machines and counts.

Facts from Google's documentation (Dataflow "GPU support", Compute Engine "GPU
machine types"), as of 2026:
- T4, P4, V100 and P100 attach to N1 machines; how many depends on the vCPUs.
- L4 comes only with G2 machines, A100 40GB with A2 (highgpu, megagpu),
  A100 80GB with A2 ultragpu, H100 80GB with A3 highgpu, H100 Mega with A3
  megagpu; these machines have a fixed GPU count named in the machine type.
- TensorRT 10 and later run only on compute capability 7.5 or newer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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
    n1_max_vcpus: dict[int, int] | None = None
    """For N1 GPUs: GPU count -> the most vCPUs a machine may have with that many."""

    @property
    def compute_capability_text(self) -> str:
        return f"{self.compute_capability[0]}.{self.compute_capability[1]}"

    @property
    def counts(self) -> tuple[int, ...]:
        return tuple(sorted(self.default_machine_types))


def _n1(name: str, capability: tuple[int, int], max_vcpus: dict[int, int]) -> GpuType:
    defaults = {count: f"n1-standard-{min(8 * count, limit)}" for count, limit in max_vcpus.items()}
    return GpuType(name, capability, "n1", defaults, max_vcpus)


def _fixed(
    name: str, capability: tuple[int, int], family: str, machines: dict[int, str]
) -> GpuType:
    return GpuType(name, capability, family, machines)


GPU_TYPES: dict[str, GpuType] = {
    gpu.name: gpu
    for gpu in (
        _n1("nvidia-tesla-t4", (7, 5), {1: 48, 2: 48, 4: 96}),
        _n1("nvidia-tesla-v100", (7, 0), {1: 12, 2: 24, 4: 48, 8: 96}),
        _n1("nvidia-tesla-p100", (6, 0), {1: 16, 2: 32, 4: 64}),
        _n1("nvidia-tesla-p4", (6, 1), {1: 24, 2: 48, 4: 96}),
        _fixed(
            "nvidia-l4",
            (8, 9),
            "g2",
            {1: "g2-standard-8", 2: "g2-standard-24", 4: "g2-standard-48", 8: "g2-standard-96"},
        ),
        _fixed(
            "nvidia-tesla-a100",
            (8, 0),
            "a2",
            {1: "a2-highgpu-1g", 2: "a2-highgpu-2g", 4: "a2-highgpu-4g", 8: "a2-highgpu-8g"}
            | {16: "a2-megagpu-16g"},
        ),
        _fixed(
            "nvidia-a100-80gb",
            (8, 0),
            "a2",
            {n: f"a2-ultragpu-{n}g" for n in (1, 2, 4, 8)},
        ),
        _fixed(
            "nvidia-h100-80gb",
            (9, 0),
            "a3",
            {n: f"a3-highgpu-{n}g" for n in (1, 2, 4, 8)},
        ),
        _fixed("nvidia-h100-mega-80gb", (9, 0), "a3", {8: "a3-megagpu-8g"}),
    )
}

G2_GPU_COUNTS = {4: 1, 8: 1, 12: 1, 16: 1, 24: 2, 32: 1, 48: 4, 96: 8}
"""g2-standard-N (N vCPUs) -> its fixed number of L4 GPUs."""

_N1_MACHINE = re.compile(r"^(?:n1-(?:standard|highmem|highcpu)-(\d+)|(?:n1-)?custom-(\d+)-\d+)$")
_G2_MACHINE = re.compile(r"^g2-standard-(\d+)$")


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
        for count, machine in gpu.default_machine_types.items():
            if gpu.family != "n1" and machine == machine_type:
                return count
    return None


def n1_vcpus(machine_type: str) -> int | None:
    match = _N1_MACHINE.match(machine_type)
    if not match:
        return None
    return int(match.group(1) or match.group(2))
