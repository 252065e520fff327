"""Local throughput: the whole pipeline on the DirectRunner over N generated sentences.

    python benchmarks/local_throughput.py --sentences 10000 [--model DIR/model.onnx]

Sentences are built from the demo corpus's words with lengths spread like movie
reviews (3 to 60 words), seeded, so runs are comparable. Prints wall time,
sentences per second and the padding efficiency (real tokens / computed tokens),
next to what padding every record to 128 tokens would cost.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from trt_text_classifier.engine.demo_model import build_demo_model, read_corpus
from trt_text_classifier.run import run_pipeline, summarize


def generate_sentences(count: int, seed: int = 0) -> list[str]:
    words = [word for _, sentence in read_corpus() for word in sentence.split()]
    generator = random.Random(seed)
    return [
        " ".join(
            generator.choices(words, k=min(60, max(3, int(generator.lognormvariate(2.6, 0.6)))))
        )
        for _ in range(count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=10_000)
    parser.add_argument("--model", help="model.onnx (default: build the demo model)")
    parser.add_argument("--max_batch_size", type=int, default=64)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="throughput-"))
    model = args.model
    if model is None:
        build_demo_model(str(work / "model"))
        model = str(work / "model" / "model.onnx")
    (work / "input.txt").write_text("\n".join(generate_sentences(args.sentences)) + "\n")

    started = time.perf_counter()
    _, result = run_pipeline(
        [
            f"--input={work / 'input.txt'}",
            f"--output={work / 'out' / 'predictions'}",
            f"--onnx_path={model}",
            f"--max_batch_size={args.max_batch_size}",
        ],
        wait=True,
    )
    elapsed = time.perf_counter() - started
    summary = summarize(result)
    fixed_128 = summary.real_tokens / (summary.predictions * 128)
    print(f"sentences: {summary.predictions} (dead letters: {summary.dead_letters})")
    print(f"wall time: {elapsed:.1f} s, {summary.predictions / elapsed:.0f} sentences/s")
    print(
        f"padding efficiency: {summary.padding_efficiency:.1%} "
        f"(padding every record to 128 tokens: {fixed_128:.1%})"
    )


if __name__ == "__main__":
    main()
