"""`trt-text-classifier verify-engine`: the engine and its ONNX on the same sentences, compared."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from trt_text_classifier.commands.errors import report_errors
from trt_text_classifier.params import ParameterError

HELP = "compare a TensorRT engine with its ONNX model on sentences (needs a GPU)"


@dataclass(frozen=True)
class Comparison:
    """How far the engine's logits are from the reference (ONNX Runtime) logits."""

    records: int
    max_abs_error: float
    max_rel_error: float
    label_agreement: float

    def describe(self) -> str:
        return (
            f"records: {self.records}\n"
            f"max absolute logit error: {self.max_abs_error:.3e}\n"
            f"max relative logit error: {self.max_rel_error:.3e}\n"
            f"label agreement: {self.label_agreement:.2%}"
        )


def compare_logits(reference: np.ndarray, candidate: np.ndarray) -> Comparison:
    """Relative error is |a - b| / max(|a|, 1e-6) per logit, so near-zero logits do not explode."""
    if reference.shape != candidate.shape:
        raise ValueError(f"logit shapes differ: {reference.shape} vs {candidate.shape}")
    reference = reference.astype(np.float64)
    difference = np.abs(candidate.astype(np.float64) - reference)
    if not reference.size:
        return Comparison(0, 0.0, 0.0, 1.0)
    agree = reference.argmax(axis=1) == candidate.argmax(axis=1)
    return Comparison(
        records=reference.shape[0],
        max_abs_error=float(difference.max()),
        max_rel_error=float((difference / np.maximum(np.abs(reference), 1e-6)).max()),
        label_agreement=float(agree.mean()),
    )


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trt-text-classifier verify-engine", description=HELP)
    parser.add_argument("--engine", required=True, help="engine (.plan) with its sidecar")
    parser.add_argument("--onnx", required=True, help="the model.onnx it was built from")
    parser.add_argument("--input", required=True, help="text file, one sentence per line")
    parser.add_argument("--max-seq-length", type=int, help="default: the engine's sequence MAX")
    return parser


def read_sentences(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8") as handle:
            sentences = [line.strip() for line in handle if line.strip()]
    except OSError as error:
        raise ParameterError(f"--input={path}: cannot read it ({error.strerror})") from None
    if not sentences:
        raise ParameterError(f"--input={path}: holds no sentence (only blank lines)")
    return sentences


def batches(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def main(argv: Sequence[str]) -> int:
    args = make_parser().parse_args(list(argv))
    return report_errors(lambda: _verify(args))


def _verify(args: argparse.Namespace) -> int:
    from trt_text_classifier.backends.base import BackendError
    from trt_text_classifier.backends.tensorrt_backend import TensorRTBackend, check_runtime
    from trt_text_classifier.loading import load_onnx_classifier
    from trt_text_classifier.preflight import read_engine_sidecar

    sidecar = read_engine_sidecar(args.engine, name="engine")
    try:
        check_runtime(sidecar, args.engine)
    except BackendError as error:
        raise BackendError(f"verify-engine runs the engine, and cannot here: {error}") from None
    sentences = read_sentences(args.input)
    reference = load_onnx_classifier(args.onnx, None, args.max_seq_length or sidecar.sequence.max)
    engine = TensorRTBackend.from_path(args.engine)
    try:
        pairs = []
        for batch in batches(sentences, sidecar.batch.max):
            arrays = reference.tokenizer.encode(batch, sidecar.input_names).arrays
            pairs.append((reference.backend.infer(arrays), engine.infer(arrays)))
    finally:
        engine.close()
        reference.close()
    comparison = compare_logits(
        np.concatenate([pair[0] for pair in pairs]), np.concatenate([pair[1] for pair in pairs])
    )
    print(comparison.describe(), file=sys.stdout)
    return 0
