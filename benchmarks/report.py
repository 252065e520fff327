"""The benchmark's results: a markdown table with the machine it ran on, a PNG plot, raw JSON."""

from __future__ import annotations

import datetime
import json
import os
import platform
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

TARGETS = {
    "vs_seed_batch_1": 5.0,
    "vs_seed_best": 4.0,
    "padding_efficiency": 0.85,
    "pipeline_overhead": 0.15,
}
"""Issue 6's targets, for the BERT-base-shaped model on a 2-core CPU."""
TARGET_WORKLOAD = "bert-base"


@dataclass(frozen=True)
class Measurement:
    pipeline: str
    batch_size: str
    sentences: int
    seconds: float
    padding_efficiency: float
    backend_seconds: float | None
    batches: int

    @property
    def sentences_per_second(self) -> float:
        return self.sentences / self.seconds


@dataclass(frozen=True)
class WorkloadResult:
    name: str
    description: str
    sentences: int
    token_mean: float
    token_percentiles: dict[int, float]
    token_max: int
    measurements: list[Measurement]
    seed_probe: dict[int, float]
    model_load_seconds: float
    host_microseconds: dict[str, float] = field(default_factory=dict)

    def find(self, prefix: str) -> list[Measurement]:
        return [m for m in self.measurements if m.pipeline.startswith(prefix)]

    @property
    def ours(self) -> Measurement:
        return self.find("ours")[0]

    @property
    def alone(self) -> Measurement:
        return self.find("backend alone")[0]

    @property
    def seed_batch_1(self) -> Measurement:
        return self.find("seed-style, batch 1")[0]

    @property
    def seed_best(self) -> Measurement:
        return max(self.find("seed-style"), key=lambda m: m.sentences_per_second)

    def ratios(self) -> dict[str, float]:
        ours = self.ours.sentences_per_second
        return {
            "vs_seed_batch_1": ours / self.seed_batch_1.sentences_per_second,
            "vs_seed_best": ours / self.seed_best.sentences_per_second,
            "padding_efficiency": self.ours.padding_efficiency,
            "pipeline_overhead": self.ours.seconds / self.alone.seconds - 1,
        }


def machine() -> dict[str, str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory_kib = int(Path("/proc/meminfo").read_text().split()[1])
    import onnxruntime

    from trt_text_classifier.backends.onnxruntime_backend import choose_providers

    versions = ", ".join(
        f"{name} {metadata.version(name)}"
        for name in ("apache-beam", "tokenizers", "transformers", "numpy")
    )
    runtime = f"ONNX Runtime {onnxruntime.__version__}, {choose_providers()[0]}"
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": f"{cpu}, {len(os.sched_getaffinity(0))} usable cores",
        "memory": f"{memory_kib / 2**20:.0f} GiB",
        "gpu": gpu_name(),
        "model runtime": runtime,
        "system": f"{platform.system()} {platform.release()}, Python {platform.python_version()}",
        "packages": versions,
    }


def gpu_name() -> str:
    """The GPU nvidia-smi reports, or "none"."""
    import shutil
    import subprocess

    if shutil.which("nvidia-smi") is None:
        return "none"
    listing = subprocess.run(
        ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
        capture_output=True,
        text=True,
        check=False,
    )
    return listing.stdout.strip().replace("\n", ", ") or "none"


def write(results: list[WorkloadResult], output: Path, name: str) -> None:
    """`NAME.md`, `NAME.json` and `NAME.png` under `output`."""
    output.mkdir(parents=True, exist_ok=True)
    host = machine()
    (output / f"{name}.md").write_text(markdown(results, host))
    (output / f"{name}.json").write_text(
        json.dumps({"machine": host, "workloads": [asdict(r) for r in results]}, indent=2) + "\n"
    )
    plot(results, output / f"{name}.png", host)


def markdown(results: list[WorkloadResult], host: dict[str, str]) -> str:
    lines = [
        f"# Benchmark: our pipeline vs the seed-style pipeline ({host['model runtime']})",
        "",
        *(f"- **{key}:** {value}" for key, value in host.items()),
        "- **reproduce:** `python benchmarks/run.py` (see benchmarks/README.md)",
        "",
    ]
    for result in results:
        lines += workload_section(result)
    return "\n".join(lines)


def workload_section(result: WorkloadResult) -> list[str]:
    p = result.token_percentiles
    seed_1 = result.seed_batch_1.sentences_per_second
    seed_best = result.seed_best.sentences_per_second
    lines = [
        f"## {result.name}: {result.description}",
        "",
        f"{result.sentences:,} sentences; word pieces per sentence (special tokens included): "
        f"mean {result.token_mean:.1f}, median {p[50]:.0f}, p90 {p[90]:.0f}, "
        f"p99 {p[99]:.0f}, max {result.token_max}.",
        "",
        "| pipeline | batch size | batches | wall time (s) | sentences/s | vs seed-style batch 1 "
        "| vs seed-style best | padding efficiency |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for m in result.measurements:
        rate = m.sentences_per_second
        lines.append(
            f"| {m.pipeline} | {m.batch_size} | {m.batches:,} | {m.seconds:.3g} | {rate:,.1f} "
            f"| {rate / seed_1:.2f}x | {rate / seed_best:.2f}x | {m.padding_efficiency:.1%} |"
        )
    ours = result.ours
    inside = ours.backend_seconds or 0.0
    lines += [
        "",
        f"- Host work per sentence, outside Beam (tokenize + turn logits into output records): "
        f"ours {result.host_microseconds['ours']:.0f} µs, "
        f"seed-style {result.host_microseconds['seed']:.0f} µs.",
        f"- Inside our pipeline the model ran {inside:.3g} s of its {ours.seconds:.3g} s. "
        f"The backend alone took {result.model_load_seconds:.3g} s to create its ONNX Runtime "
        f"session and {result.alone.backend_seconds or 0:.3g} s to run the same batches.",
        "- Seed-style batch size chosen by timing the model alone on fixed-128 batches "
        "(ms per sentence): "
        + ", ".join(f"{size}: {seconds * 1e3:.1f}" for size, seconds in result.seed_probe.items())
        + ".",
        "",
    ]
    if result.name == TARGET_WORKLOAD:
        lines += target_table(result.ratios())
    return lines


def target_table(ratios: dict[str, float]) -> list[str]:
    return [
        "| target (set for BERT-base on the 2-core CPU) | wanted | measured | met |",
        "|---|---|---:|---|",
        target_row("ours vs seed-style, batch 1", "≥ 5x", ratios, "vs_seed_batch_1", "{:.2f}x"),
        target_row("ours vs seed-style, best batch", "≥ 4x", ratios, "vs_seed_best", "{:.2f}x"),
        target_row("padding efficiency", "≥ 0.85", ratios, "padding_efficiency", "{:.3f}"),
        target_row(
            "pipeline time over backend alone", "≤ 15%", ratios, "pipeline_overhead", "{:+.1%}"
        ),
        "",
    ]


def target_row(label: str, wanted: str, ratios: dict[str, float], key: str, form: str) -> str:
    value = ratios[key]
    met = value <= TARGETS[key] if key == "pipeline_overhead" else value >= TARGETS[key]
    return f"| {label} | {wanted} | {form.format(value)} | {'yes' if met else 'no'} |"


def plot(results: list[WorkloadResult], path: Path, host: dict[str, str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(
        1, len(results), figsize=(6.5 * len(results), 3.8), squeeze=False
    )
    for axis, result in zip(axes[0], results, strict=True):
        names = [m.pipeline for m in reversed(result.measurements)]
        rates = [m.sentences_per_second for m in reversed(result.measurements)]
        colors = ["#9aa5b1" if n.startswith("seed") else "#2b6cb0" for n in names]
        bars = axis.barh(names, rates, color=colors)
        seed_1 = result.seed_batch_1.sentences_per_second
        axis.bar_label(bars, labels=[f"{r:,.0f}/s ({r / seed_1:.1f}x)" for r in rates], padding=3)
        axis.set_xlim(0, max(rates) * 1.35)
        axis.set_xlabel("sentences per second (higher is better)")
        axis.set_title(f"{result.name}: {result.sentences:,} sentences", fontsize=10)
    where = host["cpu"] if host["gpu"] == "none" else f"{host['gpu']}, {host['cpu']}"
    figure.suptitle(
        f"DirectRunner + {host['model runtime']} on {where} ({host['date']})", fontsize=9
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
