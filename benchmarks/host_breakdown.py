"""Host work per sentence inside one SDK process, broken down by step, from a profile.

    python benchmarks/host_breakdown.py                 # demo model, 20,000 sentences
    python benchmarks/host_breakdown.py --backend null  # the host ceiling's profile

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

With `--backend null` the shared backend is `null_backend.py`'s (zero logits, no model
compute: the host ceiling's pipeline), the samples are split into finer steps
(`FINE_STEPS`: the tokenizer call apart from the sort, pickling the arrays apart from
waiting, `Prediction`s apart from softmax, Beam's coders, worker and runner apart), and
the results go to host-ceiling-profile.json and .md instead.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import re
import sys
import tempfile
import threading
import time
from functools import partial
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent
sys.path[1:1] = [str(BENCHMARKS.parent / "template")]
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import apache_beam as beam  # noqa: E402

import null_backend  # noqa: E402
import report  # noqa: E402
import workloads  # noqa: E402
from trt_text_classifier.io.text_files import ReadLines  # noqa: E402
from trt_text_classifier.launch.batch_size import effective_max_batch_size  # noqa: E402
from trt_text_classifier.launch.command_line import parse_pipeline_args  # noqa: E402
from trt_text_classifier.launch.options import make_pipeline_options  # noqa: E402
from trt_text_classifier.pipeline import build_pipeline  # noqa: E402
from trt_text_classifier.serving.handler import TextClassificationModelHandler  # noqa: E402
from trt_text_classifier.serving.length_ordering import OrderByLength  # noqa: E402
from trt_text_classifier.serving.tokenization import REMEMBERED_ENCODINGS  # noqa: E402

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

FINE_STEPS = (
    ("read (ReadLines, file system)", (r"fileio", r"text_files\.py:")),
    (
        "IPC: pickling the arrays, sending",
        (r"multiprocessing/reduction\.py", r"connection\.py:\d+:_?send"),
    ),
    (
        "IPC: waiting for the backend, receiving",
        (r"multiprocessing/", r"shared_backend\.py", r"socket"),
    ),
    ("tokenizer call (OrderByLength's token count)", (r"tokenization\.py:\d+:count_tokens",)),
    ("order: sort, batch forming", (r"length_ordering\.py",)),
    ("padding, array building", (r"tokenization\.py",)),
    ("labels (softmax, Classification)", (r"classifier\.py", r"softmax")),
    ("Prediction building", (r"handler\.py", r"formed_batches\.py", r"records\.py:\d+:__new__")),
    ("JSON encoding", (r"records\.py", r"json/", r"sinks\.py:\d+:json_lines?_of")),
    ("WriteToText", (r"textio", r"filebasedsink", r"filesystem", r"sinks\.py")),
    ("Reshuffle (transforms/util.py)", (r"transforms/util\.py",)),
    ("Beam coders (Reshuffle's pickled record lists, stage boundaries)", (r"apache_beam/coders",)),
    ("Beam pickler (DoFns unpickled per bundle, bz2)", (r"pickle", r"dill", r"bz2\.py")),
    (
        "Beam DoFn signatures (inspect, userstate)",
        (r"/inspect\.py", r"userstate\.py", r"transforms/core\.py:\d+:get_function_arguments"),
    ),
    ("waiting on another thread (threading)", (r"/threading\.py",)),
    ("Beam runner (fn_api_runner, state, data plane)", (r"apache_beam/runners/portability",)),
    ("Beam SDK worker per-element/per-bundle", (r"apache_beam/",)),
)
"""The null backend's steps, as regular expressions over `file:line:function`: finer
than `STEPS` (the first step with a match wins; the innermost frame that matches one)."""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=20_000)
    parser.add_argument("--output", default=str(RESULTS))
    parser.add_argument("--work", help="model and scratch files (default: a temp dir)")
    parser.add_argument(
        "--backend",
        choices=("onnx", "null"),
        default="onnx",
        help="null: null_backend.py's shared backend (no model compute), finer steps, "
        "host-ceiling-profile.json/.md",
    )
    parser.add_argument(
        "--max-batch-size", type=int, help="the pipeline's --max_batch_size (default: its own)"
    )
    parser.add_argument(
        "--name", default="host-ceiling-profile", help="null backend: NAME.json, NAME.md"
    )
    parser.add_argument(
        "--remembered-encodings",
        type=int,
        help="null backend, experiment: the tokenizer's encoding memo holds this many "
        "(default: tokenization.REMEMBERED_ENCODINGS)",
    )
    parser.add_argument("--repeats", type=int, default=1, help="profiled runs (null backend)")
    args = parser.parse_args(argv)
    work = Path(args.work or tempfile.mkdtemp(prefix="host-breakdown-"))
    workload = workloads.demo_workload(work, args.sentences)
    if args.remembered_encodings:
        from trt_text_classifier.serving import tokenization

        tokenization._MEMO = tokenization._EncodingMemo(args.remembered_encodings)
    if args.backend == "null":
        return null_profile(workload, work, args)
    layouts = {}
    for layout, shared in (("in-process", False), ("shared backend", True)):
        profile_run(workload, work, 1_000, shared)  # first-run costs (imports, caches) go here
        seconds = profile_run(workload, work, args.sentences, shared)
        costs = {step: round(value / args.sentences * 1e6, 1) for step, value in seconds.items()}
        costs["total"] = round(sum(costs.values()), 1)
        layouts[layout] = costs
        print(f"== {layout}: {json.dumps(costs)}", flush=True)
    write(Path(args.output), args, layouts)


def profile_run(
    workload: workloads.Workload,
    work: Path,
    count: int,
    shared: bool,
    *,
    null: bool = False,
    sample: bool = True,
    batch_limit: int | None = None,
) -> dict:
    """Seconds per step for one run of `count` sentences, from 1 ms stack samples.

    `null`: null_backend.py's backend, shared, `FINE_STEPS`; `sample=False`: no sampler,
    only the wall time (under "wall").
    """
    directory = work / f"run-{count}-{'null' if null else 'shared' if shared else 'local'}"
    directory.mkdir(parents=True, exist_ok=True)
    inputs = directory / "input.txt"
    inputs.write_text("\n".join(workloads.generate_sentences(count)) + "\n")
    params, beam_args = parse_pipeline_args(
        [
            f"--input={inputs}",
            f"--output={directory / 'out' / 'predictions'}",
            f"--onnx_path={workload.onnx_path}",
            *([f"--max_batch_size={batch_limit}"] if batch_limit else []),
        ]
    )
    handler = TextClassificationModelHandler(
        params.model_path,
        max_seq_length=params.max_seq_length,
        max_batch_size=effective_max_batch_size(params),
        share_across_processes=shared or null,
        isolate_failures=True,
        **(
            {"loader": partial(null_backend.load_null_classifier, log=str(directory / "busy.log"))}
            if null
            else {}
        ),
    )
    handler.load_model()
    pipeline = beam.Pipeline(options=make_pipeline_options(params, beam_args))
    build_pipeline(pipeline, params, handler)
    classify = fine_step_of if null else step_of
    sampler = StackSampler(threading.get_ident(), classify)
    started = time.perf_counter()
    if sample:
        sampler.start()
    pipeline.run().wait_until_finish()
    if sample:
        sampler.stop()
    wall = time.perf_counter() - started
    if not sample:
        return {"wall": wall}
    total = max(sum(sampler.counts.values()), 1)
    names = [name for name, _ in FINE_STEPS] + ["other"] if null else STEP_NAMES
    seconds = {step: wall * sampler.counts.get(step, 0) / total for step in names}
    if null:
        top = sorted(sampler.innermost.items(), key=lambda item: -item[1])[:25]
        seconds["innermost"] = {key: wall * count / total for key, count in top}
    return seconds


class StackSampler:
    """Samples one thread's stack every millisecond; counts samples by step.

    cProfile's per-call overhead inflates Beam's many small functions several
    times over; a sample costs the same wherever the thread is. A sample
    belongs to the step of the innermost frame that names one.
    """

    def __init__(self, thread: int, classify=None) -> None:
        self._thread = thread
        self._classify = classify or step_of
        self._running = True
        self.counts: dict[str, int] = {}
        self.innermost: dict[str, int] = {}
        """Samples by the innermost Python frame (`file:function`), whatever its step."""
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
            if frame is not None:
                code = frame.f_code
                key = f"{Path(code.co_filename).name}:{code.co_name}"
                self.innermost[key] = self.innermost.get(key, 0) + 1
            while frame is not None:
                code = frame.f_code
                found = self._classify(code.co_filename, code.co_firstlineno, code.co_name)
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


_FINE = [(name, re.compile("|".join(patterns))) for name, patterns in FINE_STEPS]


def fine_step_of(filename: str, line: int, function: str) -> str:
    where = f"{filename}:{line}:{function}"
    for name, pattern in _FINE:
        if pattern.search(where):
            return name
    return "other"


def null_profile(workload: workloads.Workload, work: Path, args: argparse.Namespace) -> None:
    """The host ceiling's pipeline (null backend, shared) in one SDK process, by fine step."""
    limit = args.max_batch_size
    profile_run(workload, work, 1_000, True, null=True, batch_limit=limit)  # first-run costs
    unsampled = profile_run(
        workload, work, args.sentences, True, null=True, sample=False, batch_limit=limit
    )
    batch_size = effective_max_batch_size(
        parse_pipeline_args(
            ["--input=x", "--output=y", f"--onnx_path={workload.onnx_path}"]
            + ([f"--max_batch_size={limit}"] if limit else [])
        )[0]
    )
    runs = []
    innermost: dict[str, float] = {}
    for _ in range(args.repeats):
        seconds = profile_run(workload, work, args.sentences, True, null=True, batch_limit=limit)
        for key, value in seconds.pop("innermost").items():
            innermost[key] = innermost.get(key, 0.0) + value / args.sentences * 1e6 / args.repeats
        runs.append({step: value / args.sentences * 1e6 for step, value in seconds.items()})
    costs = {step: round(sum(r[step] for r in runs) / len(runs), 1) for step in runs[0]}
    total = sum(costs.values())
    costs["total"] = round(total, 1)
    shares = {step: round(value / total, 3) for step, value in costs.items() if step != "total"}
    document = {
        "command": "python benchmarks/host_breakdown.py " + " ".join(sys.argv[1:]),
        "model": "demo bundle's tokenizer and labels; null_backend.py (zero logits, no compute)",
        "layout": "DirectRunner, 1 in-memory SDK worker, shared backend process (MultiProcessShared)",
        "sentences": args.sentences,
        "max_batch_size": batch_size,
        "remembered_encodings": args.remembered_encodings or REMEMBERED_ENCODINGS,
        "profiled_runs": args.repeats,
        "us_per_sentence": costs,
        "share": shares,
        "per_run_us_per_sentence": [
            {step: round(value, 1) for step, value in r.items()} for r in runs
        ],
        "innermost_frames_us_per_sentence": {
            key: round(value, 1)
            for key, value in sorted(innermost.items(), key=lambda item: -item[1])[:25]
        },
        "unsampled_wall_s": round(unsampled["wall"], 3),
        "unsampled_sentences_per_s": round(args.sentences / unsampled["wall"]),
        "unsampled_us_per_sentence": round(unsampled["wall"] / args.sentences * 1e6, 1),
    }
    print(json.dumps(document, indent=2), flush=True)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    host = report.machine()
    document = {"machine": host, "date": host["date"], **document}
    (output / f"{args.name}.json").write_text(json.dumps(document, indent=2) + "\n")
    lines = [
        "# Host ceiling: host work per sentence in one SDK process, null backend, by step",
        "",
        f"- **date:** {host['date']}",
        f"- **cpu:** {host['cpu']} (this 2-core CPU machine, not the GPU host)",
        f"- **reproduce:** `{document['command']}`",
        "",
        f"µs per sentence: {args.repeats} profiled run(s) of {args.sentences:,} sentences in "
        f"batches of at most {batch_size} (encoding memo: "
        f"{document['remembered_encodings']:,}) "
        "(DirectRunner, one in-memory SDK worker; the demo bundle's tokenizer, "
        "`null_backend.py` in the shared backend process), each after a discarded warm-up run, "
        "wall time from `run()` to the end split by 1 ms stack samples (innermost frame that "
        f"names a step). Without the sampler the same run took {document['unsampled_wall_s']} s: "
        f"{document['unsampled_sentences_per_s']:,} sentences/s, "
        f"{document['unsampled_us_per_sentence']} µs a sentence.",
        "",
        "| step | µs per sentence | share |",
        "|---|---:|---:|",
    ]
    for step, value in costs.items():
        share = f"{shares[step]:.1%}" if step in shares else "100%"
        lines.append(f"| {step} | {value:,.1f} | {share} |")
    lines += [
        "",
        "Where the samples fell, by innermost Python frame (µs per sentence, top 25; a native "
        "call counts for the Python function that made it):",
        "",
        "| innermost frame | µs per sentence |",
        "|---|---:|",
    ]
    for key, value in document["innermost_frames_us_per_sentence"].items():
        lines.append(f"| `{key}` | {value:,.1f} |")
    (output / f"{args.name}.md").write_text("\n".join(lines) + "\n")


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
