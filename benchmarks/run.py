"""Our pipeline vs the seed-style pipeline vs the backend alone, on the same sentences.

    python benchmarks/run.py                       # full run: demo 10,000 + bert-base 1,000
    python benchmarks/run.py --workloads demo --demo-sentences 200 --output /tmp/bench
    python benchmarks/run.py --output benchmarks/results   # replace the committed results

For each workload (model + sentences), in one process, on this machine:
1. our pipeline: `run_pipeline` on the DirectRunner with ONNX Runtime, default settings,
   its batches timed and saved as they pass the backend (`instrumentation.py`);
2. the backend alone: creating an ONNX Runtime session with the same settings, then
   replaying exactly those batches (the pipeline has to load the model too);
3. the seed-style pipeline (`seed_pipeline.py`) at batch size 1, and at its best batch
   size, found by timing the model alone on fixed-128 batches of the candidate sizes;
4. host work per sentence for both styles, outside Beam (`host_overhead.py`).
Writes `NAME.md` (table + machine), `NAME.png` (plot) and `NAME.json` under --output
(default out/benchmarks/, so a run never overwrites the committed benchmarks/results/;
NAME: --name, default `cpu`). On a machine where onnxruntime-gpu sees a GPU, every
pipeline and the backend alone run on ONNX Runtime's CUDA provider.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np

import host_overhead
import instrumentation
import report
import seed_pipeline
import workloads
from report import Measurement, WorkloadResult
from trt_text_classifier.backends.onnxruntime_backend import OnnxRuntimeBackend, choose_providers
from trt_text_classifier.bundle import BundleManifest
from trt_text_classifier.run import counter_totals, run_pipeline, summarize
from trt_text_classifier.serving.batch_sizes import default_max_batch_size

RESULTS = Path(__file__).resolve().parent / "results"
"""The committed results: written only when --output names this folder."""
DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "out" / "benchmarks"
"""Where a run writes by default (out/ is ignored by git)."""
SEED_CANDIDATE_BATCH_SIZES = (1, 4, 16, 64)
# The pipeline's own default for this machine's device (64 on a CPU, 256 with ONNX Runtime CUDA).
OUR_BATCH_SIZE = default_max_batch_size(
    on_gpu=choose_providers()[0] == "CUDAExecutionProvider", streaming=False, profile_max=None
)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    work = Path(args.work or tempfile.mkdtemp(prefix="benchmark-"))
    work.mkdir(parents=True, exist_ok=True)
    builders = {
        "demo": partial(workloads.demo_workload, sentences=args.demo_sentences),
        "bert-base": partial(workloads.bert_base_workload, sentences=args.bert_sentences),
    }
    results = []
    for name in args.workloads:
        workload = builders[name](work)
        print(f"== {workload.name}: {workload.description}, {workload.sentences} sentences")
        results.append(measure(workload, work / f"{workload.name}-run", args.seed_batch_sizes))
    report.write(results, Path(args.output), args.name)
    print(f"wrote {args.name}.md, {args.name}.png, {args.name}.json under {args.output}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/run.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--workloads",
        nargs="+",
        choices=("demo", "bert-base"),
        default=["demo", "bert-base"],
        help="which models to measure (default: both)",
    )
    parser.add_argument(
        "--demo-sentences",
        type=int,
        default=10_000,
        help="sentences for the demo model (default %(default)s)",
    )
    parser.add_argument(
        "--bert-sentences",
        type=int,
        default=1_000,
        help="sentences for bert-base (default %(default)s)",
    )
    parser.add_argument(
        "--seed-batch-sizes",
        type=lambda text: tuple(int(size) for size in text.split(",")),
        default=SEED_CANDIDATE_BATCH_SIZES,
        help="candidate batch sizes for the seed-style pipeline (comma-separated; default "
        f"{','.join(map(str, SEED_CANDIDATE_BATCH_SIZES))})",
    )
    parser.add_argument(
        "--output",
        default=str(DEFAULT_OUTPUT),
        help=f"folder the report goes to (default: out/benchmarks; the committed results are "
        f"{RESULTS.relative_to(RESULTS.parent.parent)})",
    )
    parser.add_argument(
        "--name", default="cpu", help="report file names: NAME.md, .png, .json (default cpu)"
    )
    parser.add_argument(
        "--work", help="models and scratch files (reused between runs; default: a temp dir)"
    )
    return parser.parse_args(argv)


def measure(
    workload: workloads.Workload, scratch: Path, seed_sizes: tuple[int, ...]
) -> WorkloadResult:
    scratch.mkdir(parents=True, exist_ok=True)
    sentences = workloads.generate_sentences(workload.sentences)
    input_path = scratch / "sentences.txt"
    input_path.write_text("\n".join(sentences) + "\n")
    lengths = workloads.token_lengths(workload.bundle, sentences)
    labels = BundleManifest.model_validate_json(
        (workload.bundle / "bundle.json").read_text()
    ).labels

    ours, batches = run_ours(workload, input_path, scratch)
    started = time.perf_counter()
    backend = OnnxRuntimeBackend(str(workload.onnx_path))
    load_seconds = time.perf_counter() - started
    alone = measure_backend_alone(backend, batches, ours, load_seconds)
    probe = probe_seed_batch_sizes(backend, workload.bundle, sentences, seed_sizes)
    best = min(probe, key=probe.get)
    print(f"   seed-style model-alone seconds/sentence by batch size: {probe}; best {best}")
    input_names = backend.input_names
    backend.close()

    seeds = [
        run_seed(workload, input_path, scratch, labels, size, lengths)
        for size in dict.fromkeys((1, best))
    ]
    host = {
        "ours": host_overhead.our_host_microseconds(
            workload.bundle,
            sentences,
            input_names=input_names,
            labels=labels,
            batch_size=OUR_BATCH_SIZE,
        ),
        "seed": host_overhead.seed_host_microseconds(workload.bundle, sentences, labels),
    }
    return WorkloadResult(
        name=workload.name,
        description=workload.description,
        sentences=len(sentences),
        token_mean=float(lengths.mean()),
        token_percentiles={p: float(np.percentile(lengths, p)) for p in (50, 90, 99)},
        token_max=int(lengths.max()),
        measurements=[ours, alone, *seeds],
        seed_probe=probe,
        model_load_seconds=load_seconds,
        host_microseconds=host,
    )


def run_ours(
    workload: workloads.Workload, input_path: Path, scratch: Path
) -> tuple[Measurement, list[dict[str, np.ndarray]]]:
    shutil.rmtree(scratch / "ours", ignore_errors=True)  # the pipeline refuses to overwrite
    recording = scratch / "batches"
    recording.mkdir(exist_ok=True)
    for stale in recording.glob("batch-*.npz"):
        stale.unlink()
    loader = partial(instrumentation.load_recording_classifier, directory=str(recording))
    started = time.perf_counter()
    _, result = run_pipeline(
        [
            f"--input={input_path}",
            f"--output={scratch / 'ours' / 'predictions'}",
            f"--onnx_path={workload.onnx_path}",
        ],
        wait=True,
        loader=loader,
    )
    seconds = time.perf_counter() - started
    summary = summarize(result)
    timers = counter_totals(result, instrumentation.NAMESPACE)
    batches = instrumentation.recorded_batches(recording)
    print(
        f"   ours: {summary.predictions} predictions in {seconds:.1f} s, "
        f"{len(batches)} batches, padding efficiency {summary.padding_efficiency:.1%}"
    )
    return (
        Measurement(
            pipeline="ours",
            batch_size=f"≤{OUR_BATCH_SIZE}, formed by length",
            sentences=summary.predictions,
            seconds=seconds,
            padding_efficiency=summary.padding_efficiency,
            backend_seconds=timers.get("backend_ns", 0) / 1e9,
            batches=len(batches),
        ),
        batches,
    )


def measure_backend_alone(
    backend: OnnxRuntimeBackend,
    batches: list[dict[str, np.ndarray]],
    ours: Measurement,
    load_seconds: float,
) -> Measurement:
    """Load the model and run our pipeline's batches: what the pipeline cannot do without."""
    inference = instrumentation.replay_batches(backend, batches)
    print(
        f"   backend alone on the same {len(batches)} batches: {inference:.1f} s "
        f"+ {load_seconds:.1f} s to create the session"
    )
    return Measurement(
        pipeline="backend alone",
        batch_size="same batches as ours",
        sentences=ours.sentences,
        seconds=load_seconds + inference,
        padding_efficiency=ours.padding_efficiency,
        backend_seconds=inference,
        batches=len(batches),
    )


def probe_seed_batch_sizes(
    backend: OnnxRuntimeBackend, bundle: Path, sentences: list[str], sizes: tuple[int, ...]
) -> dict[int, float]:
    """Seconds per sentence of the model alone on fixed-128 batches, by batch size."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(bundle))
    sample = sentences[: max(sizes)]
    examples = [seed_pipeline.tokenize_one(tokenizer, text) for text in sample]
    probe = {}
    for size in sizes:
        batches = [
            {name: np.stack([e[name] for e in examples[i : i + size]]) for name in examples[0]}
            for i in range(0, len(examples), size)
        ]
        probe[size] = instrumentation.replay_batches(backend, batches) / len(examples)
    return probe


def run_seed(
    workload: workloads.Workload,
    input_path: Path,
    scratch: Path,
    labels: tuple[str, ...],
    batch_size: int,
    lengths: np.ndarray,
) -> Measurement:
    shutil.rmtree(scratch / f"seed-{batch_size}", ignore_errors=True)
    started = time.perf_counter()
    seed_pipeline.run_seed_pipeline(
        input_path=str(input_path),
        output_prefix=str(scratch / f"seed-{batch_size}" / "predictions"),
        onnx_path=str(workload.onnx_path),
        tokenizer_directory=str(workload.bundle),
        labels=labels,
        batch_size=batch_size,
    )
    seconds = time.perf_counter() - started
    written = count_lines(scratch / f"seed-{batch_size}")
    print(f"   seed-style, batch size {batch_size}: {written} predictions in {seconds:.1f} s")
    computed = len(lengths) * seed_pipeline.SEED_SEQUENCE_LENGTH
    return Measurement(
        pipeline=f"seed-style, batch {batch_size}",
        batch_size=str(batch_size),
        sentences=written,
        seconds=seconds,
        padding_efficiency=float(np.minimum(lengths, seed_pipeline.SEED_SEQUENCE_LENGTH).sum())
        / computed,
        backend_seconds=None,
        batches=-(-len(lengths) // batch_size),
    )


def count_lines(directory: Path) -> int:
    return sum(len(path.read_text().splitlines()) for path in directory.glob("*.jsonl"))


if __name__ == "__main__":
    sys.exit(main())
