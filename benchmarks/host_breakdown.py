"""Host work per sentence inside one SDK process, broken down by step, from a profile.

    python benchmarks/host_breakdown.py                 # demo model, 20,000 sentences

Runs the batch pipeline in this process (DirectRunner, one in-memory SDK worker: the
runner, the worker and the model share one thread) on N sentences, after a discarded
warm-up run that takes the one-time costs of a process (imports, caches), sampling
that thread's stack every millisecond from `run()` to the end; a sample counts for the step of the
innermost function that belongs to one (by where it lives: the project's tokenizer,
ONNX Runtime, Beam's runner, ...). The model is loaded before (it is cached per process). Two layouts:
- `in-process`: the model in the SDK process (one-process GPU jobs until now, CPU jobs);
- `shared backend`: the backend in its own process, as GPU workers now run it; the
  inference call is then pickling the arrays plus waiting for the answer.
Writes host-breakdown.json and host-breakdown.md under --output.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent
sys.path[1:1] = [str(BENCHMARKS.parent / "template")]
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import apache_beam as beam  # noqa: E402

import report  # noqa: E402
import workloads  # noqa: E402
from trt_text_classifier.io.text_files import ReadLines  # noqa: E402
from trt_text_classifier.launch.batch_size import effective_max_batch_size  # noqa: E402
from trt_text_classifier.launch.command_line import parse_pipeline_args  # noqa: E402
from trt_text_classifier.launch.options import make_pipeline_options  # noqa: E402
from trt_text_classifier.pipeline import build_pipeline  # noqa: E402
from trt_text_classifier.serving.handler import TextClassificationModelHandler  # noqa: E402
from trt_text_classifier.serving.length_ordering import OrderByLength  # noqa: E402

RESULTS = BENCHMARKS / "results"


def _where(method) -> str:
    """`pipeline.py:LINE:` of a method, as `step_of` spells a profiled function."""
    return f"pipeline.py:{inspect.getsourcelines(method)[1]}:"


STEPS = (
    ("inference call", ("onnxruntime", "shared_backend.py", "multiprocessing/", "pickle")),
    (
        "order",
        ("count_tokens", *map(_where, (OrderByLength.process, OrderByLength._release))),
    ),
    ("tokenize", ("tokenization.py",)),
    ("labels", ("classifier.py", "handler.py", "softmax")),
    ("output encoding", ("records.py", "json/")),
    ("read", ("fileio", _where(ReadLines.process))),
    ("write", ("textio", "filebasedsink", "filesystem")),
    ("Beam per-element transport", ("apache_beam/",)),
)
STEP_NAMES = [name for name, _ in STEPS] + ["other"]
"""Step -> markers of `file:function` (the first step with a matching marker wins)."""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=20_000)
    parser.add_argument("--output", default=str(RESULTS))
    parser.add_argument("--work", help="model and scratch files (default: a temp dir)")
    args = parser.parse_args(argv)
    work = Path(args.work or tempfile.mkdtemp(prefix="host-breakdown-"))
    workload = workloads.demo_workload(work, args.sentences)
    layouts = {}
    for layout, shared in (("in-process", False), ("shared backend", True)):
        profile_run(workload, work, 1_000, shared)  # first-run costs (imports, caches) go here
        seconds = profile_run(workload, work, args.sentences, shared)
        costs = {step: round(value / args.sentences * 1e6, 1) for step, value in seconds.items()}
        costs["total"] = round(sum(costs.values()), 1)
        layouts[layout] = costs
        print(f"== {layout}: {json.dumps(costs)}", flush=True)
    write(Path(args.output), args, layouts)


def profile_run(workload: workloads.Workload, work: Path, count: int, shared: bool) -> dict:
    """Seconds per step for one run of `count` sentences, from 1 ms stack samples."""
    directory = work / f"run-{count}-{'shared' if shared else 'local'}"
    directory.mkdir(parents=True, exist_ok=True)
    inputs = directory / "input.txt"
    inputs.write_text("\n".join(workloads.generate_sentences(count)) + "\n")
    params, beam_args = parse_pipeline_args(
        [
            f"--input={inputs}",
            f"--output={directory / 'out' / 'predictions'}",
            f"--onnx_path={workload.onnx_path}",
        ]
    )
    handler = TextClassificationModelHandler(
        params.model_path,
        max_seq_length=params.max_seq_length,
        max_batch_size=effective_max_batch_size(params),
        share_across_processes=shared,
        isolate_failures=True,
    )
    handler.load_model()
    pipeline = beam.Pipeline(options=make_pipeline_options(params, beam_args))
    build_pipeline(pipeline, params, handler)
    sampler = StackSampler(threading.get_ident())
    started = time.perf_counter()
    sampler.start()
    pipeline.run().wait_until_finish()
    sampler.stop()
    wall = time.perf_counter() - started
    total = max(sum(sampler.counts.values()), 1)
    return {step: wall * sampler.counts.get(step, 0) / total for step in STEP_NAMES}


class StackSampler:
    """Samples one thread's stack every millisecond; counts samples by step.

    cProfile's per-call overhead inflates Beam's many small functions several
    times over; a sample costs the same wherever the thread is. A sample
    belongs to the step of the innermost frame that names one.
    """

    def __init__(self, thread: int) -> None:
        self._thread = thread
        self._running = True
        self.counts: dict[str, int] = {}
        self._worker = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        # A thread waits up to the switch interval (5 ms) for the GIL: the samples would
        # fall where the sampled thread releases it (native calls) rather than evenly.
        self._interval = sys.getswitchinterval()
        sys.setswitchinterval(0.0002)
        self._worker.start()

    def stop(self) -> None:
        self._running = False
        self._worker.join()
        sys.setswitchinterval(self._interval)

    def _run(self) -> None:
        while self._running:
            time.sleep(0.001)
            frame = sys._current_frames().get(self._thread)
            step = "other"
            while frame is not None:
                code = frame.f_code
                found = step_of(code.co_filename, code.co_firstlineno, code.co_name)
                if found != "other":
                    step = found
                    break
                frame = frame.f_back
            self.counts[step] = self.counts.get(step, 0) + 1


def step_of(filename: str, line: int, function: str) -> str:
    where = f"{filename}:{line}:{function}"
    for name, markers in STEPS:
        if any(marker in where for marker in markers):
            return name
    return "other"


def write(output: Path, args: argparse.Namespace, layouts: dict[str, dict[str, float]]) -> None:
    output.mkdir(parents=True, exist_ok=True)
    host = report.machine()
    document = {
        "machine": host,
        "date": host["date"],
        "command": "python benchmarks/host_breakdown.py " + " ".join(sys.argv[1:]),
        "model": "demo (2 layers, hidden 64)",
        "sentences": args.sentences,
        "us_per_sentence": layouts,
    }
    (output / "host-breakdown.json").write_text(json.dumps(document, indent=2) + "\n")
    steps = list(next(iter(layouts.values())))
    lines = [
        "# Host work per sentence in one SDK process, by step",
        "",
        f"- **date:** {host['date']}",
        f"- **cpu:** {host['cpu']}",
        f"- **reproduce:** `{document['command']}`",
        "",
        f"µs per sentence: one run of {args.sentences:,} sentences (demo model, DirectRunner "
        "with one in-memory worker, after a discarded warm-up run), its wall time from "
        "`run()` to the end (graph construction excluded, the runner's start included) "
        "split by 1 ms stack samples.",
        "",
        "| step | " + " | ".join(layouts) + " |",
        "|---|" + "---:|" * len(layouts),
    ]
    for step in steps:
        lines.append(
            f"| {step} | " + " | ".join(f"{layouts[k][step]:,.1f}" for k in layouts) + " |"
        )
    (output / "host-breakdown.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
