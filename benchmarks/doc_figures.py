"""The figures of docs/performance.md, generated from the results files in benchmarks/results/.

`python benchmarks/doc_figures.py` rewrites the block between the page's figures:begin/end
markers; `--check` exits 1 when the page differs (tests/unit/test_docs_figures.py does the same).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
PAGE = ROOT / "docs" / "performance.md"
BLOCK = re.compile(r"(<!-- figures:begin .*?-->\n)(.*?)(<!-- figures:end -->)", re.DOTALL)


def rate(measurement: dict[str, Any]) -> float:
    return float(measurement["sentences"]) / float(measurement["seconds"])


def workload_rows(workload: dict[str, Any]) -> dict[str, float]:
    """Our pipeline's rate, its ratios to the seed-style pipeline and its padding efficiency."""
    measurements = workload["measurements"]
    ours = next(m for m in measurements if m["pipeline"].startswith("ours"))
    seeds = [m for m in measurements if m["pipeline"].startswith("seed-style")]
    batch_1 = next(m for m in seeds if m["pipeline"] == "seed-style, batch 1")
    best = max(seeds, key=rate)
    return {
        "rate": rate(ours),
        "vs_batch_1": rate(ours) / rate(batch_1),
        "vs_best": rate(ours) / rate(best),
        "padding": float(ours["padding_efficiency"]),
        "seed_padding": float(batch_1["padding_efficiency"]),
    }


def comparison_table(name: str, label: str) -> list[str]:
    results = json.loads((RESULTS / f"{name}.json").read_text())
    machine = results["machine"]
    lines = [
        f"**{label}** ([results/{name}.md](../benchmarks/results/{name}.md), {machine['date']}; "
        f"{machine['cpu']}, GPU: {machine['gpu']}; {machine['model runtime']}):",
        "",
        "| workload | sentences | ours, sentences/s | vs seed-style batch 1 | vs seed-style best "
        "| real tokens computed (ours) | (seed-style, padded to 128) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for workload in results["workloads"]:
        row = workload_rows(workload)
        lines.append(
            f"| {workload['name']} | {workload['sentences']:,} | {row['rate']:,.1f} "
            f"| {row['vs_batch_1']:.2f}x | {row['vs_best']:.2f}x | {row['padding']:.1%} "
            f"| {row['seed_padding']:.1%} |"
        )
    return [*lines, ""]


def gpu_worker_lines() -> list[str]:
    """The headline GPU run beside the backend at its best and every measured run."""
    results = json.loads((RESULTS / "gpu-throughput.json").read_text())
    best = results["backend_best"]
    lines = [
        f"**One GPU worker's layout** ([results/gpu-throughput.json]"
        f"(../benchmarks/results/gpu-throughput.json), {results['date']}; "
        f"{results['machine']['gpu']}, {results['backend']}, {results['model']}, "
        f"{results['sentences']:,} sentences, {results['sdk_processes']} SDK processes "
        "sharing one backend):",
        "",
        "| measure | value |",
        "|---|---:|",
        f"| pipeline, steady state | {results['pipeline_sentences_per_s']:,.1f} sentences/s |",
        f"| pipeline, whole job (start-up and shutdown included) "
        f"| {results['pipeline_wall_sentences_per_s']:,.1f} sentences/s |",
        f"| backend alone at its best ({best['callers']} callers, sorted batches of "
        f"{best['batch_size']}) | {results['backend_best_sentences_per_s']:,.1f} sentences/s |",
        f"| backend alone, the pipeline's own batches "
        f"| {results['backend_same_batches_sentences_per_s']:,.1f} sentences/s |",
        f"| steady pipeline / best backend | {results['ratio_to_best']:.3f} |",
        f"| steady pipeline / same batches | {results['ratio_to_same_batches']:.3f} |",
        f"| whole job / best backend | {results['wall_ratio_to_best']:.3f} |",
        f"| GPU utilization (NVML samples) | {results['gpu_utilization_percent']:.1f}% |",
        f"| padding efficiency | {results['padding_efficiency']:.1%} |",
        f"| host ceiling (a backend that computes nothing) "
        f"| {results['host_ceiling_sentences_per_s']:,.1f} sentences/s |",
        "",
        "Every run (steady and whole-job figures side by side):",
        "",
        "| layout | processes | sentences | steady /s | whole job /s | before first batch s "
        "| after last batch s | GPU % |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in results["runs"]:
        gpu = run.get("gpu_utilization_percent")
        lines.append(
            f"| {run['layout']} | {run['sdk_processes']} | {run['sentences']:,} "
            f"| {run['pipeline_sentences_per_s']:,.1f} | {run['pipeline_wall_sentences_per_s']:,.1f} "
            f"| {run['seconds_to_first_batch']:.1f} | {run['seconds_after_last_batch']:.1f} "
            f"| {'' if gpu is None else f'{gpu:.0f}'} |"
        )
    return [*lines, ""]


def figures() -> str:
    lines = [
        *comparison_table("cpu", "2-core CPU, ONNX Runtime"),
        *comparison_table("h100-onnxruntime-cuda", "H100, ONNX Runtime's CUDA provider"),
        *gpu_worker_lines(),
    ]
    return "\n".join(lines)


def rendered(page: str) -> str:
    match = BLOCK.search(page)
    if match is None:
        raise SystemExit(f"{PAGE} lacks the figures:begin/end markers")
    return page[: match.start(2)] + figures() + page[match.end(2) :]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is out of date")
    args = parser.parse_args(argv)
    page = PAGE.read_text(encoding="utf-8")
    new = rendered(page)
    if args.check:
        if new != page:
            print(f"{PAGE} is out of date: run python benchmarks/doc_figures.py", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
