"""A GPU worker's layout: pipeline throughput against the backend at its best, over SDK processes.

    python benchmarks/gpu_throughput.py                      # 100,000 sentences, 16 and 4 processes
    python benchmarks/gpu_throughput.py --layouts shared:16,ceiling:1,ceiling:4,ceiling:16
    python benchmarks/gpu_throughput.py --sentences 1000000 --layouts shared:16 --append

On one machine, with onnxruntime-gpu (CUDA provider) as the GPU backend:
1. builds the BERT-base-shaped model and SST-2-like sentences (`workloads.py`), written
   as 16 input files (a sharded data set: reading spreads over processes as well);
2. runs each layout of --layouts: "shared:N" is the template's GPU worker layout, N SDK
   processes (DirectRunner, multi_processing), each tokenizing its own records, one
   backend served to all of them from its own process; "before" is one SDK process with
   the model in it; "ceiling:N" is the shared layout with `null_backend.py`'s backend,
   which returns zero logits without computing (the host path's ceiling);
3. the backend alone, after the first real run, on the same sentences: the batches that
   run formed, replayed by 1, 2, 4 and 8 concurrent callers; and the same sentences sorted
   by length and cut into batches of 64 .. 512, by 1, 2, 4 and 8 callers. The best of all
   of these is the baseline ("backend best"); the pipeline's own batches at their best
   caller count are "backend, same batches";
4. writes NAME.json (every run, rewritten after each; with --append the runs of an
   earlier NAME.json are kept unless re-run) and NAME.png.

Per run: wall time and sentences/s of the whole job (start-up included); steady-state
sentences/s from the first to the last model call; the time before the first batch split
at the backend's load (process start, reading and tokenizing until the shared backend is
asked for; the backend's load, session creation included; from the loaded backend to the
first batch) and the time after the last batch; the GPU's utilization sampled through
NVML (pynvml, else nvidia-smi) every 50 ms between the first and the last model call; CPU
time of every process of the job per sentence; padding efficiency; per role of process
(runner, SDK workers, the shared backend's server: `process_watch.py`) when they started,
their CPU seconds before the first batch, steady and after the last, and when they exited.
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
import threading
import time
from collections.abc import Mapping, Sequence
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
import numpy as np  # noqa: E402
import onnxruntime  # noqa: E402

import instrumentation  # noqa: E402
import null_backend  # noqa: E402
import process_watch  # noqa: E402
import report  # noqa: E402
import workloads  # noqa: E402
from trt_text_classifier.backends.onnxruntime_backend import (  # noqa: E402
    OnnxRuntimeBackend,
    choose_providers,
)
from trt_text_classifier.launch.batch_size import effective_max_batch_size  # noqa: E402
from trt_text_classifier.launch.command_line import parse_pipeline_args  # noqa: E402
from trt_text_classifier.launch.options import make_pipeline_options  # noqa: E402
from trt_text_classifier.pipeline import build_pipeline  # noqa: E402
from trt_text_classifier.run import summarize  # noqa: E402

RESULTS = BENCHMARKS / "results"
INPUT_FILES = 16
CALLERS = (1, 2, 4, 8)
SORTED_BATCH_SIZES = (64, 128, 256, 512)
SAMPLE_SECONDS = 0.05


@dataclass
class Run:
    layout: str
    sdk_processes: int
    sentences: int
    max_batch_size: int
    batches: int
    wall_seconds: float
    pipeline_wall_sentences_per_s: float
    pipeline_sentences_per_s: float
    seconds_to_first_batch: float
    seconds_to_backend_load: float | None
    backend_load_seconds: float | None
    seconds_loaded_to_first_batch: float | None
    steady_seconds: float
    seconds_after_last_batch: float
    backend_busy_seconds: float
    gpu_utilization_percent: float | None
    gpu_utilization_source: str | None
    cpu_us_per_sentence: float
    padding_efficiency: float
    processes: dict  # process_watch.breakdown: start, CPU per phase and exit, per role


@dataclass
class Trial:
    """The backend alone on one layout of the sentences with one number of callers."""

    layout: str  # "same batches" or "sorted"
    batch_size: int | None  # None: the pipeline's own batches
    callers: int
    batches: int
    sentences: int
    seconds: float
    sentences_per_s: float
    padding_efficiency: float
    gpu_utilization_percent: float | None


@dataclass
class BackendAlone:
    sentences: int
    session_seconds: float
    providers: list[str]
    trials: list[Trial]

    @property
    def best(self) -> Trial:
        return max(self.trials, key=lambda trial: trial.sentences_per_s)

    @property
    def same_batches(self) -> Trial:
        same = [trial for trial in self.trials if trial.layout == "same batches"]
        return max(same, key=lambda trial: trial.sentences_per_s)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    work = Path(args.work or tempfile.mkdtemp(prefix="gpu-throughput-"))
    work.mkdir(parents=True, exist_ok=True)
    build = workloads.bert_base_workload if args.model == "bert-base" else workloads.demo_workload
    workload = build(work, sentences=args.sentences)
    inputs = write_inputs(work / "input", workloads.generate_sentences(args.sentences))
    earlier = read_earlier(output / f"{args.name}.json") if args.append else {}
    runs: list[Run] = []
    alone = None
    for layout, processes in args.layouts:
        scratch = work / f"{layout}-{processes}"
        run = run_layout(workload, inputs, scratch, layout, processes, args.max_batch_size)
        runs.append(run)
        print(f"   {json.dumps(asdict(run))}", flush=True)
        if alone is None and layout != "ceiling" and not args.skip_backend:
            alone = backend_alone(workload, scratch / "batches")
        write_results(output, args, runs, alone, earlier)


def parse_layouts(text: str) -> list[tuple[str, int]]:
    layouts = []
    for item in text.split(","):
        name, _, count = item.partition(":")
        if name not in ("shared", "before", "ceiling"):
            raise argparse.ArgumentTypeError(f"unknown layout {name!r}")
        layouts.append((name, 1 if name == "before" else int(count)))
    return layouts


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=100_000)
    parser.add_argument(
        "--layouts",
        type=parse_layouts,
        default=parse_layouts("shared:16,shared:4"),
        help="comma-separated shared:N, ceiling:N, before (the first real one feeds the "
        "backend-alone trials)",
    )
    parser.add_argument("--model", choices=("bert-base", "demo"), default="bert-base")
    parser.add_argument("--skip-backend", action="store_true", help="no backend-alone trials")
    parser.add_argument(
        "--max-batch-size", type=int, help="the pipeline's --max_batch_size (default: its own)"
    )
    parser.add_argument("--append", action="store_true", help="keep an earlier NAME.json's runs")
    parser.add_argument("--output", default=str(RESULTS), help="where the results go")
    parser.add_argument("--name", default="gpu-throughput", help="NAME.json, NAME.png")
    parser.add_argument("--work", help="model and scratch files (default: a temp dir)")
    return parser.parse_args(argv)


def write_inputs(directory: Path, sentences: list[str]) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    for index in range(INPUT_FILES):
        part = sentences[index::INPUT_FILES]
        (directory / f"part-{index:02d}.txt").write_text("\n".join(part) + "\n")
    return str(directory / "part-*.txt")


def run_layout(
    workload: workloads.Workload,
    inputs: str,
    scratch: Path,
    layout: str,
    processes: int,
    batch_limit: int | None = None,
) -> Run:
    shutil.rmtree(scratch, ignore_errors=True)
    (scratch / "batches").mkdir(parents=True)
    busy_log = scratch / "busy.log"
    busy_log.touch()
    flags = [
        f"--input={inputs}",
        f"--output={scratch / 'out' / 'predictions'}",
        f"--onnx_path={workload.onnx_path}",
        f"--direct_num_workers={processes}",
        "--direct_running_mode=multi_processing",
    ]
    if batch_limit:
        flags.append(f"--max_batch_size={batch_limit}")
    params, beam_args = parse_pipeline_args(flags)
    loader = (
        null_backend.load_null_classifier
        if layout == "ceiling"
        else instrumentation.load_busy_logging_classifier
    )
    batch_size = effective_max_batch_size(params)
    handler = instrumentation.BatchSavingHandler(
        params.model_path,
        save_to=str(scratch / "batches"),
        save=layout != "ceiling",
        max_seq_length=params.max_seq_length,
        max_batch_size=batch_size,
        share_across_processes=layout != "before",
        loader=partial(loader, log=str(busy_log)),
        isolate_failures=True,
    )
    print(f"== {layout}, {processes} SDK process(es), batches of at most {batch_size}", flush=True)
    sampler = GpuSampler()
    watch = process_watch.ProcessWatch().start()
    cpu_before = cpu_seconds()
    started = time.monotonic()
    pipeline = beam.Pipeline(options=make_pipeline_options(params, beam_args))
    build_pipeline(pipeline, params, handler)
    result = pipeline.run()
    result.wait_until_finish()
    wall = time.monotonic() - started
    cpu = cpu_seconds() - cpu_before
    watched = watch.stop()
    summary = summarize(result)
    intervals = instrumentation.busy_intervals(busy_log)
    load = instrumentation.load_interval(busy_log)
    first, last = intervals[0][0], max(end for _, end, _, _ in intervals)
    steady = last - first
    utilization = sampler.mean_between(first, last)
    sentences = summary.predictions
    return Run(
        layout=layout,
        sdk_processes=processes,
        sentences=sentences,
        max_batch_size=batch_size,
        batches=len(intervals),
        wall_seconds=round(wall, 3),
        pipeline_wall_sentences_per_s=round(sentences / wall, 1),
        pipeline_sentences_per_s=round(sentences / steady, 1),
        seconds_to_first_batch=round(first - started, 3),
        seconds_to_backend_load=round(load[0] - started, 3) if load else None,
        backend_load_seconds=round(load[1] - load[0], 3) if load else None,
        seconds_loaded_to_first_batch=round(first - load[1], 3) if load else None,
        steady_seconds=round(steady, 3),
        seconds_after_last_batch=round(started + wall - last, 3),
        backend_busy_seconds=round(instrumentation.union_seconds(intervals), 3),
        gpu_utilization_percent=utilization,
        gpu_utilization_source=sampler.source,
        cpu_us_per_sentence=round(cpu / sentences * 1e6, 1),
        padding_efficiency=round(summary.padding_efficiency, 4),
        processes=process_watch.breakdown(watched, started, first, last),
    )


def cpu_seconds() -> float:
    """User + system CPU of this process and every child process that has ended."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class GpuSampler:
    """The GPU's utilization (percent of time a kernel ran) every 50 ms, with timestamps.

    Through NVML (pynvml, from nvidia-ml-py) when it loads, else nvidia-smi; inert on a
    machine without either. Time the GPU works, not time a call waits behind another.
    """

    def __init__(self) -> None:
        self._samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._process: subprocess.Popen[str] | None = None
        self.source: str | None = None
        try:
            import pynvml

            pynvml.nvmlInit()
            handle = pynvml.nvmlDeviceGetHandleByIndex(0)
            self.source = "NVML"
            threading.Thread(target=self._poll, args=(pynvml, handle), daemon=True).start()
            return
        except Exception:
            pass
        if shutil.which("nvidia-smi"):
            self.source = "nvidia-smi"
            self._process = subprocess.Popen(
                [
                    "nvidia-smi",
                    "--query-gpu=utilization.gpu",
                    "--format=csv,noheader,nounits",
                    "-lms",
                    str(int(SAMPLE_SECONDS * 1000)),
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
            threading.Thread(target=self._read, daemon=True).start()

    def _poll(self, pynvml, handle) -> None:  # type: ignore[no-untyped-def]
        while not self._stop.is_set():
            rate = pynvml.nvmlDeviceGetUtilizationRates(handle).gpu
            self._samples.append((time.monotonic(), float(rate)))
            self._stop.wait(SAMPLE_SECONDS)

    def _read(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        for line in self._process.stdout:
            if line.strip().isdigit():
                self._samples.append((time.monotonic(), float(line)))

    def mean_between(self, first: float, last: float) -> float | None:
        self._stop.set()
        if self._process is not None:
            self._process.terminate()
        if self.source is None:
            return None
        inside = [value for at, value in self._samples if first <= at <= last]
        return round(sum(inside) / len(inside), 1) if inside else None


def sentence_rows(batches: Sequence[Mapping[str, np.ndarray]]) -> list[dict[str, np.ndarray]]:
    """The sentences of the saved batches as unpadded token rows (padding is the mask's zeros)."""
    rows = []
    for batch in batches:
        lengths = batch["attention_mask"].sum(axis=1)
        for index, length in enumerate(lengths):
            rows.append({name: array[index, :length] for name, array in batch.items()})
    return rows


def sorted_batches(
    rows: Sequence[Mapping[str, np.ndarray]], batch_size: int
) -> list[dict[str, np.ndarray]]:
    """`rows` sorted by length, cut into batches of `batch_size`, each padded to its longest."""
    ordered = sorted(rows, key=lambda row: len(row["attention_mask"]))
    batches = []
    for start in range(0, len(ordered), batch_size):
        part = ordered[start : start + batch_size]
        width = len(part[-1]["attention_mask"])
        batch = {}
        for name in part[0]:
            array = np.zeros((len(part), width), dtype=part[0][name].dtype)
            for index, row in enumerate(part):
                array[index, : len(row[name])] = row[name]
            batch[name] = array
        batches.append(batch)
    return batches


def padding_of(batches: Sequence[Mapping[str, np.ndarray]]) -> float:
    real = sum(int(batch["attention_mask"].sum()) for batch in batches)
    computed = sum(batch["attention_mask"].size for batch in batches)
    return real / computed


def replay_concurrently(
    backend: OnnxRuntimeBackend, batches: Sequence[Mapping[str, np.ndarray]], callers: int
) -> float:
    """Seconds for `callers` threads to run every batch once, taking the next one as they go."""
    position = iter(range(len(batches)))
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                index = next(position, None)
            if index is None:
                return
            backend.infer(batches[index])

    threads = [threading.Thread(target=work) for _ in range(callers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def backend_alone(workload: workloads.Workload, batches_directory: Path) -> BackendAlone:
    """A new session, warmed up, then the same sentences in several layouts and caller counts."""
    recorded = instrumentation.recorded_batches(batches_directory)
    rows = sentence_rows(recorded)
    started = time.monotonic()
    backend = OnnxRuntimeBackend(str(workload.onnx_path))
    session = time.monotonic() - started
    limit = backend.limits.max_batch_size
    layouts: list[tuple[str, int | None, list[dict[str, np.ndarray]]]] = [
        ("same batches", None, [dict(batch) for batch in recorded])
    ]
    for size in SORTED_BATCH_SIZES:
        if limit is None or size <= limit:
            layouts.append(("sorted", size, sorted_batches(rows, size)))
    for _, _, batches in layouts:  # every shape once: allocations and kernels chosen
        replay_concurrently(backend, batches, 4)
    trials = []
    for layout, size, batches in layouts:
        count = sum(len(batch["attention_mask"]) for batch in batches)
        for callers in CALLERS:
            sampler = GpuSampler()
            begin = time.monotonic()
            seconds = replay_concurrently(backend, batches, callers)
            trial = Trial(
                layout=layout,
                batch_size=size,
                callers=callers,
                batches=len(batches),
                sentences=count,
                seconds=round(seconds, 3),
                sentences_per_s=round(count / seconds, 1),
                padding_efficiency=round(padding_of(batches), 4),
                gpu_utilization_percent=sampler.mean_between(begin, time.monotonic()),
            )
            trials.append(trial)
            print(f"   backend alone: {json.dumps(asdict(trial))}", flush=True)
    providers = backend.providers
    backend.close()
    return BackendAlone(
        sentences=len(rows), session_seconds=round(session, 3), providers=providers, trials=trials
    )


def read_earlier(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def describe_best(trial: Trial) -> dict:
    return {
        "callers": trial.callers,
        "batch_size": trial.batch_size,
        "layout": trial.layout,
        "sentences_per_s": trial.sentences_per_s,
        "gpu_utilization_percent": trial.gpu_utilization_percent,
        "padding_efficiency": trial.padding_efficiency,
    }


def write_results(
    output: Path,
    args: argparse.Namespace,
    runs: list[Run],
    alone: BackendAlone | None,
    earlier: dict,
) -> None:
    host = report.machine()
    command = "python benchmarks/gpu_throughput.py " + " ".join(sys.argv[1:])
    if alone is None and earlier.get("backend_alone"):
        alone_doc = earlier["backend_alone"]
        best = earlier["backend_best"]
        same = earlier["backend_same_batches_sentences_per_s"]
    elif alone is not None:
        alone_doc = {**asdict(alone), "measured_with": command}
        best = describe_best(alone.best)
        same = alone.same_batches.sentences_per_s
    else:
        alone_doc, best, same = None, None, None
    best_rate = best["sentences_per_s"] if best else None
    replaced = {(run.layout, run.sdk_processes, run.sentences) for run in runs}
    kept = [
        entry
        for entry in earlier.get("runs", [])
        if (entry["layout"], entry["sdk_processes"], entry["sentences"]) not in replaced
    ]
    entries = kept + [
        {
            **asdict(run),
            "machine": host["gpu"],
            "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "command": command,
            "backend_best_sentences_per_s": best_rate,
            "backend_same_batches_sentences_per_s": same,
            "host_ceiling_sentences_per_s": None,
        }
        for run in runs
    ]
    ceilings = {
        (entry["sentences"], entry["sdk_processes"]): entry["pipeline_sentences_per_s"]
        for entry in entries
        if entry["layout"] == "ceiling"
    }
    for entry in entries:
        entry["host_ceiling_sentences_per_s"] = ceilings.get(
            (entry["sentences"], entry["sdk_processes"])
        )
        rate = entry["backend_best_sentences_per_s"]
        if rate and entry["layout"] != "ceiling":
            entry["ratio_to_best"] = round(entry["pipeline_sentences_per_s"] / rate, 3)
            entry["wall_ratio_to_best"] = round(entry["pipeline_wall_sentences_per_s"] / rate, 3)
            if entry["backend_same_batches_sentences_per_s"]:
                entry["ratio_to_same_batches"] = round(
                    entry["pipeline_sentences_per_s"]
                    / entry["backend_same_batches_sentences_per_s"],
                    3,
                )
    real = [entry for entry in entries if entry["layout"] == "shared"]
    main_size = max((entry["sentences"] for entry in real), default=args.sentences)
    # The headline is the largest job (its steady span is the longest), at its best layout.
    at_size = [entry for entry in real if entry["sentences"] == main_size]
    headline = max(at_size, key=lambda entry: entry["pipeline_sentences_per_s"], default=None)
    ceiling = headline["host_ceiling_sentences_per_s"] if headline else None
    if ceiling is None:
        ceiling = max(
            (
                entry["pipeline_sentences_per_s"]
                for entry in entries
                if entry["layout"] == "ceiling"
            ),
            default=None,
        )

    def pick(key: str):  # type: ignore[no-untyped-def]
        return headline[key] if headline else None

    document = {
        "machine": host,
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": pick("command") or command,
        "model": args.model,
        "backend": f"ONNX Runtime {onnxruntime.__version__}, {choose_providers()[0]}",
        "sentences": pick("sentences"),
        "sdk_processes": pick("sdk_processes"),
        "max_batch_size": pick("max_batch_size"),
        "pipeline_sentences_per_s": pick("pipeline_sentences_per_s"),
        "pipeline_wall_sentences_per_s": pick("pipeline_wall_sentences_per_s"),
        "backend_best_sentences_per_s": best_rate,
        "backend_best": best,
        "backend_same_batches_sentences_per_s": same,
        "ratio_to_best": pick("ratio_to_best"),
        "ratio_to_same_batches": pick("ratio_to_same_batches"),
        "wall_ratio_to_best": pick("wall_ratio_to_best"),
        "gpu_utilization_percent": pick("gpu_utilization_percent"),
        "padding_efficiency": pick("padding_efficiency"),
        "host_ceiling_sentences_per_s": ceiling,
        "backend_alone": alone_doc,
        "runs": entries,
    }
    (output / f"{args.name}.json").write_text(json.dumps(document, indent=2) + "\n")
    if best_rate and real:
        plot(entries, best_rate, same, output / f"{args.name}.png", host)


def plot(
    entries: list[dict], best: float, same: float | None, path: Path, host: dict[str, str]
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(7, 4.5))
    for layout, marker in (("shared", "o"), ("ceiling", "^")):
        for size in sorted({e["sentences"] for e in entries if e["layout"] == layout}):
            chosen = sorted(
                (e for e in entries if e["layout"] == layout and e["sentences"] == size),
                key=lambda e: e["sdk_processes"],
            )
            counts = [e["sdk_processes"] for e in chosen]
            label = f"{'pipeline' if layout == 'shared' else 'host ceiling'}, {size:,}"
            axes.plot(
                counts,
                [e["pipeline_sentences_per_s"] for e in chosen],
                f"{marker}-",
                label=f"{label}, steady",
            )
            axes.plot(
                counts,
                [e["pipeline_wall_sentences_per_s"] for e in chosen],
                f"{marker}--",
                label=f"{label}, whole job",
            )
    axes.axhline(best, color="black", label="backend alone, best")
    if same:
        axes.axhline(same, color="gray", linestyle=":", label="backend alone, same batches")
    axes.set_xscale("log", base=2)
    axes.set_yscale("log")
    axes.set_xlabel("SDK processes (one backend shared by all)")
    axes.set_ylabel("sentences/s")
    axes.set_title(host["gpu"], fontsize=10)
    axes.legend(fontsize=7)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


if __name__ == "__main__":
    sys.exit(main())
