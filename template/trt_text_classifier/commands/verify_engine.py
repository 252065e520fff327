"""`trt-text-classifier verify-engine`: the engine and its ONNX on the same sentences, compared.

Tokenizes the sentences with the engine's tokenizer settings, runs every batch
through ONNX Runtime (fp32, the reference) and the engine, and compares the
logits: label agreement (same arg-max) and the largest absolute logit
difference. Exits 0 when both are within the thresholds it prints, 1 when not.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from trt_text_classifier.backends.base import InferenceBackend
from trt_text_classifier.commands.errors import EXIT_FAILED, report_errors
from trt_text_classifier.errors import ParameterError

if TYPE_CHECKING:
    from trt_text_classifier.serving.classifier import TextClassifier
    from trt_text_classifier.sidecar import EngineSidecar

HELP = "compare a TensorRT engine with its ONNX model on sentences (needs a GPU)"


@dataclass(frozen=True)
class Thresholds:
    """What an engine must reach against ONNX Runtime fp32 to pass."""

    min_label_agreement: float
    max_abs_error: float

    def describe(self) -> str:
        return (
            f"thresholds: label agreement >= {self.min_label_agreement:.2%}, "
            f"max absolute logit error <= {self.max_abs_error:.3e}"
        )


DEFAULT_THRESHOLDS = Thresholds(min_label_agreement=0.99, max_abs_error=0.25)
"""fp16 engines of BERT-base: measured on the converted ONNX, ONNX Runtime vs fp32 (see
docs/engines.md, "Build an engine"); an engine outside these is broken, not merely rounded."""


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

    def failures(self, thresholds: Thresholds) -> list[str]:
        """One phrase per threshold this comparison misses (empty: it passes)."""
        failures = []
        if self.label_agreement < thresholds.min_label_agreement:
            failures.append(
                f"label agreement {self.label_agreement:.2%} below "
                f"{thresholds.min_label_agreement:.2%}"
            )
        if self.max_abs_error > thresholds.max_abs_error:
            failures.append(
                f"max absolute logit error {self.max_abs_error:.3e} above "
                f"{thresholds.max_abs_error:.3e}"
            )
        return failures


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
    add_threshold_flags(parser)
    return parser


def add_threshold_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--min-label-agreement",
        type=float,
        default=DEFAULT_THRESHOLDS.min_label_agreement,
        help=f"fail below this share (default {DEFAULT_THRESHOLDS.min_label_agreement})",
    )
    parser.add_argument(
        "--max-abs-error",
        type=float,
        default=DEFAULT_THRESHOLDS.max_abs_error,
        help=f"fail above this logit difference (default {DEFAULT_THRESHOLDS.max_abs_error})",
    )


def thresholds_from(args: argparse.Namespace) -> Thresholds:
    if not 0 <= args.min_label_agreement <= 1:
        raise ParameterError(
            f"--min-label-agreement={args.min_label_agreement}: must be between 0 and 1, e.g. 0.99"
        )
    if args.max_abs_error < 0:
        raise ParameterError(f"--max-abs-error={args.max_abs_error}: must be 0 or more, e.g. 0.25")
    return Thresholds(args.min_label_agreement, args.max_abs_error)


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
    from trt_text_classifier.launch.preflight import read_engine_sidecar

    thresholds = thresholds_from(args)
    sidecar = read_engine_sidecar(args.engine, name="engine")
    return run_verification(
        args.engine, args.onnx, args.input, args.max_seq_length, thresholds, sidecar=sidecar
    )


def load_checked_engine(engine_path: str) -> InferenceBackend:
    """The engine's backend, after checking that this machine can run it at all."""
    from trt_text_classifier.backends.base import BackendError
    from trt_text_classifier.backends.tensorrt_backend import TensorRTBackend, check_runtime
    from trt_text_classifier.sidecar import read_sidecar

    try:
        check_runtime(read_sidecar(engine_path), engine_path)
    except BackendError as error:
        raise BackendError(f"verify-engine runs the engine, and cannot here: {error}") from None
    return TensorRTBackend.from_path(engine_path)


def run_verification(
    engine_path: str,
    onnx_path: str,
    sentences_path: str,
    max_seq_length: int | None = None,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    *,
    sidecar: EngineSidecar | None = None,
    load_engine: Callable[[str], InferenceBackend] = load_checked_engine,
) -> int:
    """Compare, print the comparison, the thresholds and the verdict; the exit status.

    `sidecar`: the engine's, when the caller has read it already (default: read here).
    """
    from trt_text_classifier.serving.loading import load_onnx_classifier
    from trt_text_classifier.sidecar import read_sidecar

    sidecar = sidecar or read_sidecar(engine_path)
    engine = load_engine(engine_path)
    try:
        sentences = read_sentences(sentences_path)
        reference = load_onnx_classifier(onnx_path, None, max_seq_length or sidecar.sequence.max)
    except BaseException:
        engine.close()
        raise
    try:
        comparison = compare_logits(
            *_reference_and_engine_logits(reference, engine, sentences, sidecar)
        )
    finally:
        engine.close()
        reference.close()
    failures = comparison.failures(thresholds)
    verdict = f"FAILED: {'; '.join(failures)}" if failures else "PASSED"
    print(
        f"{comparison.describe()}\n{thresholds.describe()}\nverify-engine: {verdict}",
        file=sys.stdout,
    )
    return EXIT_FAILED if failures else 0


def _reference_and_engine_logits(
    reference: TextClassifier,
    engine: InferenceBackend,
    sentences: Sequence[str],
    sidecar: EngineSidecar,
) -> tuple[np.ndarray, np.ndarray]:
    """Both models' logits for every sentence, on the same token arrays, in engine-sized batches."""
    expected, actual = [], []
    for batch in batches(sentences, sidecar.batch.max):
        arrays = reference.tokenizer.encode(batch, sidecar.input_names).arrays
        expected.append(reference.backend.infer(arrays))
        actual.append(engine.infer(arrays))
    return np.concatenate(expected), np.concatenate(actual)
