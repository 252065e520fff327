"""fp16 conversion vs fp32 on the BERT-base-shaped model, with ONNX Runtime on the CPU.

    python benchmarks/fp16_accuracy.py --work /tmp/bench [--sentences 1000]

Converts the workload's fp32 ONNX to fp16 three ways with build-engine's own
conversion (everything fp16, as before; LayerNormalization kept fp32, what
build-engine does now; LayerNorm and Softmax kept fp32) and prints label agreement and the largest logit error
of each against fp32 on the same padded batches. This measures the converted
ONNX, not an engine: TensorRT's kernels add their own rounding.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from trt_text_classifier.backends.onnxruntime_backend import OnnxRuntimeBackend
from trt_text_classifier.commands.verify_engine import compare_logits
from trt_text_classifier.model_tooling.precision import convert_to_float16
from trt_text_classifier.serving.tokenization import BatchTokenizer
from workloads import bert_base_workload, generate_sentences

VARIANTS = {
    "all fp16": (),
    "LayerNorm fp32": ("LayerNormalization",),
    "LayerNorm+Softmax fp32": ("LayerNormalization", "Softmax"),
}
BATCH = 32


def logits(onnx_path: Path, batches: list[dict[str, np.ndarray]]) -> np.ndarray:
    backend = OnnxRuntimeBackend(str(onnx_path))
    try:
        return np.concatenate([backend.infer(batch) for batch in batches])
    finally:
        backend.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--sentences", type=int, default=1000)
    args = parser.parse_args()
    workload = bert_base_workload(args.work, args.sentences)
    tokenizer = BatchTokenizer.from_pretrained(str(workload.bundle), max_seq_length=128)
    sentences = generate_sentences(args.sentences)
    names = ("input_ids", "attention_mask", "token_type_ids")
    batches = [
        tokenizer.encode(sentences[start : start + BATCH], names).arrays
        for start in range(0, len(sentences), BATCH)
    ]
    started = time.perf_counter()
    reference = logits(workload.onnx_path, batches)
    print(f"fp32: {len(reference)} sentences in {time.perf_counter() - started:.1f} s")
    with tempfile.TemporaryDirectory() as scratch:
        for name, blocked in VARIANTS.items():
            target = Path(scratch) / "model.fp16.onnx"
            convert_to_float16(str(workload.onnx_path), str(target), blocked)
            comparison = compare_logits(reference, logits(target, batches))
            print(
                f"{name:<24} label agreement {comparison.label_agreement:.2%} "
                f"({round((1 - comparison.label_agreement) * comparison.records)} differ), "
                f"max abs logit error {comparison.max_abs_error:.3e}, "
                f"max rel error {comparison.max_rel_error:.3e}"
            )


if __name__ == "__main__":
    main()
