"""The cost of JSON Lines input: our pipeline on the same sentences as text and as jsonl.

    python benchmarks/input_formats.py                  # demo model, 10,000 sentences, 3 runs each

The sentences of `run.py`'s demo workload, written once as plain lines and
once as JSON Lines records (`{"id", "text"}` plus three extra fields that
travel into `fields`); runs alternate between the two formats so that load
on the machine hits both alike. Prints seconds per run, the median
sentences/s of each format, and one prediction line of each.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import workloads
from trt_text_classifier.run import run_pipeline, summarize


def write_inputs(sentences: list[str], directory: Path) -> dict[str, Path]:
    text = directory / "sentences.txt"
    text.write_text("\n".join(sentences) + "\n", encoding="utf-8")
    jsonl = directory / "sentences.jsonl"
    records = (
        json.dumps(
            {"id": f"s-{n}", "text": s, "source": "bench", "n": n, "meta": {"rating": 4.5}},
            ensure_ascii=False,
        )
        for n, s in enumerate(sentences)
    )
    jsonl.write_text("\n".join(records) + "\n", encoding="utf-8")
    return {"text": text, "jsonl": jsonl}


def run_once(input_format: str, path: Path, onnx: Path, output: Path) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of this process, predictions) of one run."""
    started, cpu_started = time.perf_counter(), time.process_time()
    _, result = run_pipeline(
        [
            f"--input={path}",
            f"--input_format={input_format}",
            f"--output={output / 'predictions'}",
            f"--onnx_path={onnx}",
        ],
        wait=True,
    )
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return wall, cpu, summarize(result).predictions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--work", help="reuse the demo model here (default: a temp dir)")
    args = parser.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="input-formats-"))
    work.mkdir(parents=True, exist_ok=True)
    workload = workloads.demo_workload(work, args.sentences)
    inputs = write_inputs(workloads.generate_sentences(args.sentences), work)
    rates: dict[str, list[float]] = {"text": [], "jsonl": []}
    cpu_per_record: dict[str, list[float]] = {"text": [], "jsonl": []}
    for repeat in range(args.repeats):
        for input_format, path in inputs.items():
            output = work / f"{input_format}-{repeat}"
            wall, cpu, predictions = run_once(input_format, path, workload.onnx_path, output)
            rates[input_format].append(predictions / wall)
            cpu_per_record[input_format].append(cpu / predictions * 1e6)
            print(f"{input_format}: {predictions} predictions in {wall:.2f} s ({cpu:.2f} s CPU)")
    for input_format, values in rates.items():
        print(
            f"{input_format}: median {statistics.median(values):.0f} sentences/s, "
            f"{statistics.median(cpu_per_record[input_format]):.0f} µs CPU per sentence"
        )
    cost = 1 - statistics.median(rates["jsonl"]) / statistics.median(rates["text"])
    print(f"jsonl costs {cost:.1%} of text's throughput (median wall time)")
    for input_format in inputs:
        shard = sorted((work / f"{input_format}-0").glob("predictions-*.jsonl"))[0]
        print(f"{input_format} prediction: {shard.read_text('utf-8').splitlines()[0]}")


if __name__ == "__main__":
    main()
