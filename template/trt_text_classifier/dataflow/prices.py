"""What a worker shape costs per hour, from the dated price table `prices.json`.

The table holds Dataflow's list prices for one region as recorded on a date, names its source,
and the throughput the project measured per GPU type (benchmarks/results/, copied here because
the benchmarks are not part of the installed package; a test keeps the copy equal to the file).
`launch --dry-run` prints `cost_lines`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any


@cache
def price_table() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("prices.json").read_text(encoding="utf-8")
    table: dict[str, Any] = json.loads(text)
    return table


def machine_shape(machine_type: str) -> tuple[int, float] | None:
    """(vCPUs, memory in GB) of a machine type, or None when the table does not know it."""
    table = price_table()
    if machine_type in table["fixed_machines"]:
        vcpus, memory = table["fixed_machines"][machine_type]
        return int(vcpus), float(memory)
    match = re.fullmatch(r"([a-z0-9]+-[a-z]+)-(\d+)", machine_type)
    if match and match.group(1) in table["memory_gb_per_vcpu"]:
        vcpus = int(match.group(2))
        return vcpus, vcpus * float(table["memory_gb_per_vcpu"][match.group(1)])
    custom = re.fullmatch(r"(?:n1-)?custom-(\d+)-(\d+)", machine_type)
    if custom:
        return int(custom.group(1)), int(custom.group(2)) / 1024
    return None


@dataclass(frozen=True)
class WorkerPrice:
    machine_type: str
    vcpus: int
    memory_gb: float
    gpu_type: str | None
    gpu_count: int
    disk_gb: int
    disk_type: str
    machine_hour: float
    gpu_hour: float | None
    disk_hour: float

    @property
    def hour(self) -> float | None:
        return None if self.gpu_hour is None else self.machine_hour + self.gpu_hour + self.disk_hour


def worker_price(
    machine_type: str, gpu_type: str | None, gpu_count: int, *, streaming: bool = False
) -> WorkerPrice | None:
    """The hourly price of one worker, or None when the machine type is not in the table."""
    table = price_table()
    shape = machine_shape(machine_type)
    if shape is None:
        return None
    vcpus, memory = shape
    rates = table["worker"]["streaming" if streaming else "batch"]
    disk = table["default_gpu_worker_disk"]
    gpu_rate = table["gpu_hour"].get(gpu_type) if gpu_type else 0.0
    return WorkerPrice(
        machine_type=machine_type,
        vcpus=vcpus,
        memory_gb=memory,
        gpu_type=gpu_type,
        gpu_count=gpu_count,
        disk_gb=int(disk["size_gb"]),
        disk_type=str(disk["type"]),
        machine_hour=vcpus * rates["vcpu_hour"] + memory * rates["memory_gb_hour"],
        gpu_hour=None if gpu_rate is None else gpu_count * gpu_rate,
        disk_hour=int(disk["size_gb"]) * table["disk_gb_hour"][disk["type"]],
    )


def cost_lines(
    machine_type: str, gpu_type: str | None, gpu_count: int, *, streaming: bool = False
) -> list[str]:
    """The dry run's cost lines: source and date, the hourly price, the estimate, build and image."""
    table = price_table()
    checked = "" if table["verified"] else "; not yet checked against the source"
    lines = [
        f"cost: Dataflow list prices for {table['region']} as recorded on {table['recorded']} "
        f"(source: {table['source']}{checked}); they change, check the source"
    ]
    price = worker_price(machine_type, gpu_type, gpu_count, streaming=streaming)
    gpus = f" + {gpu_count} x {gpu_type}" if gpu_type else ""
    if price is None:
        lines.append(f"  worker {machine_type}{gpus}: no price recorded for this machine type")
    elif price.hour is None:
        lines.append(
            f"  worker {machine_type}{gpus}: machine ${price.machine_hour:.3f}/hour; "
            f"no price recorded for {gpu_type}"
        )
    else:
        lines.append(
            f"  worker {machine_type} ({price.vcpus} vCPU, {price.memory_gb:g} GB){gpus} + "
            f"{price.disk_gb} GB {price.disk_type}: ${price.hour:.3f}/hour per worker "
            f"(machine ${price.machine_hour:.3f}, GPU ${price.gpu_hour or 0:.3f}, "
            f"disk ${price.disk_hour:.4f}; {'streaming' if streaming else 'batch'} rates)"
        )
    lines.append("  " + estimate_line(price, gpu_type))
    build = table["cloud_build"]
    lines.append(
        f"  Cloud Build (cloudbuild.yaml): {build['machine']}, {build['disk_gb']} GB disk, "
        f"${build['build_minute']:.3f}/build-minute"
    )
    image = table["image"]
    size = f"{image['compressed_gb']} GB" if image["compressed_gb"] else "size unknown"
    lines.append(f"  image every worker pulls: {size} ({image['note']})")
    return lines


def estimate_line(price: WorkerPrice | None, gpu_type: str | None) -> str:
    measured = price_table()["measured_throughput"].get(gpu_type or "")
    if measured is None:
        return (
            f"per million sentences: unknown (no throughput measured for "
            f"{gpu_type or 'CPU workers'} in benchmarks/results/)"
        )
    if price is None or price.hour is None:
        return "per million sentences: unknown (no price for this worker)"
    per_million = price.hour / (measured["sentences_per_s"] * 3600) * 1_000_000
    at_wall = price.hour / (measured["wall_sentences_per_s"] * 3600) * 1_000_000
    return (
        f"per million sentences: about ${per_million:.3f} per worker at the measured steady "
        f"{measured['sentences_per_s']:,.0f} sentences/s (${at_wall:.3f} at "
        f"{measured['wall_sentences_per_s']:,.0f}/s with start-up); an estimate from "
        f"{measured['source']} ({measured['date']}: {measured['what']})"
    )


def markdown_table() -> str:
    """docs/operations.md's price table: one row per GPU type's default one-GPU worker."""
    from trt_text_classifier.dataflow.gpu_catalog import GPU_TYPES

    table = price_table()
    rows = [
        f"Dataflow list prices, {table['region']}, recorded {table['recorded']} "
        f"(source: {table['source']}; {'checked' if table['verified'] else 'not yet checked'} "
        "against the source). Batch rates, one GPU, the default 50 GB pd-standard boot disk.",
        "",
        "| GPU | worker | $/hour per worker | per million sentences (estimate) |",
        "|---|---|---:|---|",
    ]
    for gpu in GPU_TYPES.values():
        if gpu.name not in table["gpu_hour"] or 1 not in gpu.default_machine_types:
            continue
        machine = gpu.default_machine_types[1]
        price = worker_price(machine, gpu.name, 1)
        hour = f"{price.hour:.3f}" if price and price.hour is not None else "no price recorded"
        estimate = estimate_line(price, gpu.name).removeprefix("per million sentences: ")
        rows.append(f"| `{gpu.name}` | {machine} | {hour} | {estimate} |")
    return "\n".join(rows) + "\n"
