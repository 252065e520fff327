"""A GPU worker's layout: pipeline throughput against the backend alone, over SDK processes.

    python benchmarks/gpu_throughput.py                      # 100,000 sentences, 1-16 processes
    python benchmarks/gpu_throughput.py --sentences 2000 --processes 1,2 --output /tmp/gpu

On one machine, with onnxruntime-gpu (CUDA provider) as the GPU backend:
1. builds the BERT-base-shaped model and SST-2-like sentences (`workloads.py`), written
   as 16 input files (a sharded data set: reading spreads over processes as well);
2. "shared": the template's GPU worker layout, N SDK processes (DirectRunner,
   multi_processing), each tokenizing its own records, one backend served to all of them
   from its own process (`share_across_processes`), for each N of --processes, most first;
3. "before": the pipeline as GPU jobs ran it until now, one SDK process with the model in
   it (tokenizing, Beam's per-element work and the model calls on one core);
4. the backend alone: a new session (created and warmed up outside the timing) replaying
   the batches the first run (the most processes) formed, one call each, in order;
5. writes NAME.json (every run, rewritten after each) and NAME.png (the scaling plot).

Per run: wall time and sentences/s of the whole job (start-up included); steady-state
sentences/s from the first to the last model call; backend busy time (the union of the
model calls' intervals, logged where the backend runs) over that span; the GPU's own
utilization as nvidia-smi samples it; CPU time of every process of the job per sentence.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# The SDK worker processes import the benchmark's own modules (the loaders) and the project.
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(BENCHMARKS), str(BENCHMARKS.parent / "template"), os.environ.get("PYTHONPATH", "")]
)
sys.path[1:1] = [str(BENCHMARKS.parent / "template")]

import apache_beam as beam  # noqa: E402
import onnxruntime  # noqa: E402

import instrumentation  # noqa: E402
import report  # noqa: E402
import workloads  # noqa: E402
from trt_text_classifier.backends.onnxruntime_backend import (  # noqa: E402
    OnnxRuntimeBackend,
    choose_providers,
)
from trt_text_classifier.launch.command_line import parse_pipeline_args  # noqa: E402
from trt_text_classifier.launch.options import make_pipeline_options  # noqa: E402
from trt_text_classifier.pipeline import build_pipeline  # noqa: E402
from trt_text_classifier.run import summarize  # noqa: E402

RESULTS = BENCHMARKS / "results"
INPUT_FILES = 16


@dataclass
class Run:
    layout: str
    sdk_processes: int
    sentences: int
    batches: int
    wall_seconds: float
    pipeline_sentences_per_s: float
    seconds_to_first_batch: float
    steady_seconds: float
    seconds_after_last_batch: float
    steady_sentences_per_s: float
    backend_busy_seconds: float
    gpu_busy_fraction: float
    gpu_utilization_percent: float | None
    cpu_us_per_sentence: float
    padding_efficiency: float


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    work = Path(args.work or tempfile.mkdtemp(prefix="gpu-throughput-"))
    work.mkdir(parents=True, exist_ok=True)
    build = workloads.bert_base_workload if args.model == "bert-base" else workloads.demo_workload
    workload = build(work, sentences=args.sentences)
    inputs = write_inputs(work / "input", workloads.generate_sentences(args.sentences))
    layouts = [("shared", count, True) for count in sorted(args.processes, reverse=True)]
    if not args.skip_before:
        layouts.append(("before", 1, False))
    runs: list[Run] = []
    alone = None
    for layout, processes, shared in layouts:
        scratch = work / f"{layout}-{processes}"
        run = run_layout(workload, inputs, scratch, processes, shared)
        runs.append(run)
        print(f"   {json.dumps(asdict(run))}", flush=True)
        if alone is None:
            alone = backend_alone(workload, scratch / "batches")
        write_results(output, args, runs, alone)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=100_000)
    parser.add_argument(
        "--processes",
        type=lambda text: [int(count) for count in text.split(",")],
        default=[1, 2, 4, 8, 16],
        help="SDK process counts of the shared layout (comma-separated)",
    )
    parser.add_argument("--model", choices=("bert-base", "demo"), default="bert-base")
    parser.add_argument("--skip-before", action="store_true", help="no one-process baseline")
    parser.add_argument("--output", default=str(RESULTS), help="where the results go")
    parser.add_argument("--name", default="gpu-throughput", help="NAME.json, NAME.md, NAME.png")
    parser.add_argument("--work", help="model and scratch files (default: a temp dir)")
    return parser.parse_args(argv)


def write_inputs(directory: Path, sentences: list[str]) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    for index in range(INPUT_FILES):
        part = sentences[index::INPUT_FILES]
        (directory / f"part-{index:02d}.txt").write_text("\n".join(part) + "\n")
    return str(directory / "part-*.txt")


def run_layout(
    workload: workloads.Workload, inputs: str, scratch: Path, processes: int, shared: bool
) -> Run:
    shutil.rmtree(scratch, ignore_errors=True)
    (scratch / "batches").mkdir(parents=True)
    busy_log = scratch / "busy.log"
    busy_log.touch()
    params, beam_args = parse_pipeline_args(
        [
            f"--input={inputs}",
            f"--output={scratch / 'out' / 'predictions'}",
            f"--onnx_path={workload.onnx_path}",
            f"--direct_num_workers={processes}",
            "--direct_running_mode=multi_processing",
        ]
    )
    handler = instrumentation.BatchSavingHandler(
        params.model_path,
        save_to=str(scratch / "batches"),
        max_seq_length=params.max_seq_length,
        max_batch_size=params.max_batch_size,
        share_across_processes=shared,
        loader=partial(instrumentation.load_busy_logging_classifier, log=str(busy_log)),
        isolate_failures=True,
    )
    print(f"== {'shared' if shared else 'before'}, {processes} SDK process(es)", flush=True)
    sampler = GpuSampler()
    cpu_before = cpu_seconds()
    started = time.monotonic()
    pipeline = beam.Pipeline(options=make_pipeline_options(params, beam_args))
    build_pipeline(pipeline, params, handler)
    result = pipeline.run()
    result.wait_until_finish()
    wall = time.monotonic() - started
    cpu = cpu_seconds() - cpu_before
    summary = summarize(result)
    intervals = instrumentation.busy_intervals(busy_log)
    first, last = intervals[0][0], max(end for _, end, _, _ in intervals)
    steady = last - first
    busy = instrumentation.union_seconds(intervals)
    sentences = summary.predictions
    return Run(
        layout="shared" if shared else "before",
        sdk_processes=processes,
        sentences=sentences,
        batches=len(intervals),
        wall_seconds=round(wall, 3),
        pipeline_sentences_per_s=round(sentences / wall, 1),
        seconds_to_first_batch=round(first - started, 3),
        steady_seconds=round(steady, 3),
        seconds_after_last_batch=round(started + wall - last, 3),
        steady_sentences_per_s=round(sentences / steady, 1),
        backend_busy_seconds=round(busy, 3),
        gpu_busy_fraction=round(busy / steady, 4),
        gpu_utilization_percent=sampler.mean_between(first, last),
        cpu_us_per_sentence=round(cpu / sentences * 1e6, 1),
        padding_efficiency=round(summary.padding_efficiency, 4),
    )


def cpu_seconds() -> float:
    """User + system CPU of this process and every child process that has ended."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class GpuSampler:
    """nvidia-smi's GPU utilization every 100 ms, with monotonic timestamps; inert without it."""

    def __init__(self) -> None:
        self._samples: list[tuple[float, float]] = []
        self._process = None
        if shutil.which("nvidia-smi"):
            self._process = subprocess.Popen(
                [
                    "nvidia-smi",
                    "--query-gpu=utilization.gpu",
                    "--format=csv,noheader,nounits",
                    "-lms",
                    "100",
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
            import threading

            threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self._process.stdout:
            if line.strip().isdigit():
                self._samples.append((time.monotonic(), float(line)))

    def mean_between(self, first: float, last: float) -> float | None:
        if self._process is None:
            return None
        self._process.terminate()
        inside = [value for at, value in self._samples if first <= at <= last]
        return round(sum(inside) / len(inside), 1) if inside else None


@dataclass
class BackendAlone:
    sentences: int
    batches: int
    seconds: float
    sentences_per_s: float
    session_seconds: float
    providers: list[str]


def backend_alone(workload: workloads.Workload, batches_directory: Path) -> BackendAlone:
    """A new session, warmed up, then the saved batches one call each (session not timed)."""
    batches = instrumentation.recorded_batches(batches_directory)
    started = time.monotonic()
    backend = OnnxRuntimeBackend(str(workload.onnx_path))
    session = time.monotonic() - started
    providers = backend.providers
    for batch in batches[:20]:
        backend.infer(batch)
    seconds = instrumentation.replay_batches(backend, batches)
    backend.close()
    sentences = sum(len(next(iter(batch.values()))) for batch in batches)
    print(f"== backend alone: {sentences} sentences, {len(batches)} batches in {seconds:.2f} s")
    return BackendAlone(
        sentences=sentences,
        batches=len(batches),
        seconds=round(seconds, 3),
        sentences_per_s=round(sentences / seconds, 1),
        session_seconds=round(session, 3),
        providers=providers,
    )


def write_results(
    output: Path, args: argparse.Namespace, runs: list[Run], alone: BackendAlone | None
) -> None:
    host = report.machine()
    shared = [run for run in runs if run.layout == "shared"]
    best = max(shared, key=lambda r: r.steady_sentences_per_s) if shared else None
    before = next((run for run in runs if run.layout == "before"), None)
    document = {
        "machine": host,
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python benchmarks/gpu_throughput.py " + " ".join(sys.argv[1:]),
        "sentences": args.sentences,
        "model": args.model,
        "backend": f"ONNX Runtime {onnxruntime.__version__}, {choose_providers()[0]}",
        "sdk_processes": best.sdk_processes if best else None,
        "pipeline_sentences_per_s": best.steady_sentences_per_s if best else None,
        "pipeline_wall_sentences_per_s": best.pipeline_sentences_per_s if best else None,
        "backend_sentences_per_s": alone.sentences_per_s if alone else None,
        "ratio": round(best.steady_sentences_per_s / alone.sentences_per_s, 3)
        if best and alone
        else None,
        "ratio_before": round(before.steady_sentences_per_s / alone.sentences_per_s, 3)
        if before and alone
        else None,
        "gpu_busy_fraction": best.gpu_busy_fraction if best else None,
        "host_us_per_sentence": best.cpu_us_per_sentence if best else None,
        "host_us_per_sentence_before": before.cpu_us_per_sentence if before else None,
        "backend_alone": asdict(alone) if alone else None,
        "runs": [asdict(run) for run in runs],
    }
    (output / f"{args.name}.json").write_text(json.dumps(document, indent=2) + "\n")
    if alone and shared:
        plot(runs, alone, output / f"{args.name}.png", host)


def plot(runs: list[Run], alone: BackendAlone, path: Path, host: dict[str, str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    shared = [run for run in runs if run.layout == "shared"]
    counts = [run.sdk_processes for run in shared]
    figure, axes = pyplot.subplots(figsize=(7, 4.5))
    axes.plot(counts, [r.steady_sentences_per_s for r in shared], "o-", label="pipeline, steady")
    axes.plot(counts, [r.pipeline_sentences_per_s for r in shared], "s--", label="pipeline, wall")
    axes.axhline(alone.sentences_per_s, color="black", label="backend alone")
    axes.axhline(alone.sentences_per_s / 2, color="gray", linestyle=":", label="half of it")
    for run in runs:
        if run.layout == "before":
            axes.plot([1], [run.steady_sentences_per_s], "rx", markersize=10, label="before")
    axes.set_xscale("log", base=2)
    axes.set_xticks(counts, [str(count) for count in counts])
    axes.set_xlabel("SDK processes (one backend shared by all)")
    axes.set_ylabel("sentences/s")
    axes.set_title(f"{shared[0].sentences:,} sentences\n{host['gpu']}", fontsize=10)
    axes.legend(fontsize=8)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


if __name__ == "__main__":
    sys.exit(main())
