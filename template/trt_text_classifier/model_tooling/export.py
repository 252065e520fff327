"""Hugging Face sequence classifier -> ONNX bundle, checked against PyTorch.

The bundle layout is described in `trt_text_classifier.bundle`. The ONNX
graph has dynamic `batch` and `sequence` axes on every input and is exported
with the TorchScript-based exporter (`dynamo=False`): one self-contained
file, opset 17, which both ONNX Runtime and the TensorRT parsers read.

After export, `check_parity` runs the same sentences (several lengths, one
padded batch) through PyTorch and ONNX Runtime and compares the logits.
"""

from __future__ import annotations

import inspect
import os
import warnings
from dataclasses import dataclass

import numpy as np
import torch

from trt_text_classifier.bundle import (
    MANIFEST_NAME,
    MULTI_LABEL,
    ONNX_NAME,
    SINGLE_LABEL,
    BundleManifest,
    ProblemType,
)
from trt_text_classifier.sidecar import sha256_of

ONNX_OPSET = 17
DEFAULT_TOLERANCE = 1e-3

SERVABLE_INPUTS = ("input_ids", "token_type_ids", "attention_mask")
"""The inputs the serving tokenizer can produce (`tokenization.py`)."""
PADDING_OFFSET_FAMILIES = frozenset({"roberta", "xlm-roberta", "camembert", "data2vec-text"})
"""Model types whose position ids start after the padding index: RoBERTa's 514 position
embeddings hold 512 usable positions (ids 0..pad_token_id are never a token's position)."""

PARITY_SENTENCES = (
    "Great.",
    "Not good at all.",
    "A warm, funny and beautifully acted film that stays with you long after it ends.",
    "The plot holes are huge, the pacing is terrible and the dialogue is so clumsy that "
    "even the best actors in the cast cannot save a story that nobody seems to care about, "
    "least of all the director, who stretches two thin ideas over more than two hours.",
)


class ExportError(RuntimeError):
    """The export failed or its result does not match the source model."""


@dataclass(frozen=True)
class ParityReport:
    """ONNX Runtime vs PyTorch on `PARITY_SENTENCES`.

    `max_relative_error` is the largest absolute logit difference divided by
    the largest absolute PyTorch logit (element-wise ratios explode near zero).
    """

    sentences: int
    max_absolute_error: float
    max_relative_error: float
    label_agreement: float

    def describe(self) -> str:
        return (
            f"parity on {self.sentences} sentences: max abs error {self.max_absolute_error:.3g}, "
            f"max rel error {self.max_relative_error:.3g}, "
            f"label agreement {self.label_agreement:.0%}"
        )


class _LogitsOnly(torch.nn.Module):
    """Exposes only the logits, with the inputs as positional arguments in a fixed order."""

    def __init__(self, model: torch.nn.Module, input_names: tuple[str, ...]) -> None:
        super().__init__()
        self.model = model
        self.input_names = input_names

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.model(**dict(zip(self.input_names, inputs, strict=True))).logits


def export_bundle(
    source: str,
    output_dir: str,
    *,
    demo: bool = False,
    source_name: str | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    local_files_only: bool = False,
) -> ParityReport:
    """Export `source` (hub id or local `save_pretrained` directory) into `output_dir`.

    `source_name` is what the manifest records as the source (default: `source`);
    `local_files_only` reads a hub id from the local cache without any request.
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()

    tokenizer = AutoTokenizer.from_pretrained(
        source, use_fast=True, local_files_only=local_files_only
    )
    model = AutoModelForSequenceClassification.from_pretrained(
        source, attn_implementation="eager", local_files_only=local_files_only
    ).eval()
    input_names = model_input_names(model, tokenizer)
    problem_type = read_problem_type(model.config)
    os.makedirs(output_dir, exist_ok=True)
    onnx_path = os.path.join(output_dir, ONNX_NAME)
    export_onnx(model, tokenizer, input_names, onnx_path)
    tokenizer.save_pretrained(output_dir)
    model.config.save_pretrained(output_dir)
    manifest = BundleManifest(
        labels=tuple(model.config.id2label[index] for index in range(model.config.num_labels)),
        max_sequence_length=usable_positions(model.config),
        input_names=input_names,
        source=source_name or source,
        demo=demo,
        problem_type=problem_type,
        onnx_sha256=sha256_of(onnx_path),
    )
    write_manifest(output_dir, manifest)
    report = check_parity(model, tokenizer, input_names, onnx_path)
    if report.label_agreement < 1.0 or report.max_relative_error > tolerance:
        raise ExportError(
            f"ONNX output differs from PyTorch beyond tolerance {tolerance}: {report.describe()}"
        )
    return report


def model_input_names(model, tokenizer) -> tuple[str, ...]:
    """The tokenizer's outputs that the model's forward takes, in the tokenizer's order.

    DistilBERT and RoBERTa take no `token_type_ids`; a BERT tokenizer saved with a
    DistilBERT model still returns them, so the tokenizer alone is not enough.
    """
    accepted = inspect.signature(model.forward).parameters
    names = tuple(name for name in tokenizer.model_input_names if name in accepted)
    unknown = [name for name in names if name not in SERVABLE_INPUTS]
    if "input_ids" not in names or unknown:
        raise ExportError(
            f"the model takes {names or 'none'} of the tokenizer's outputs "
            f"{tuple(tokenizer.model_input_names)}; only {', '.join(SERVABLE_INPUTS)} can be "
            "served (input_ids required): export a BERT-style encoder classifier"
        )
    return names


def read_problem_type(config) -> ProblemType:
    """`problem_type` of the config; unset means single-label, as transformers assumes."""
    problem_type = getattr(config, "problem_type", None)
    if problem_type in (None, SINGLE_LABEL):
        return SINGLE_LABEL
    if problem_type == MULTI_LABEL:
        return MULTI_LABEL
    raise ExportError(
        f"problem_type {problem_type!r} is not served: only classifiers are "
        f"({SINGLE_LABEL} or {MULTI_LABEL})"
    )


def usable_positions(config) -> int:
    """The longest input the model's position embeddings can serve, special tokens included."""
    if config.model_type in PADDING_OFFSET_FAMILIES:
        return config.max_position_embeddings - (config.pad_token_id + 1)
    return config.max_position_embeddings


def export_onnx(model, tokenizer, input_names: tuple[str, ...], onnx_path: str) -> None:
    sample = tokenizer(
        ["a short sample", "a somewhat longer sample sentence"], padding=True, return_tensors="pt"
    )
    dynamic_axes = {name: {0: "batch", 1: "sequence"} for name in input_names}
    dynamic_axes["logits"] = {0: "batch"}
    with torch.no_grad(), warnings.catch_warnings():
        # The tracer warns about Python-level shape checks in transformers that
        # are constant for BERT; check_parity verifies the result on other shapes.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", UserWarning)
        torch.onnx.export(
            _LogitsOnly(model, input_names).eval(),
            tuple(sample[name] for name in input_names),
            onnx_path,
            input_names=list(input_names),
            output_names=["logits"],
            dynamic_axes=dynamic_axes,
            opset_version=ONNX_OPSET,
            dynamo=False,
        )


def write_manifest(output_dir: str, manifest: BundleManifest) -> None:
    with open(os.path.join(output_dir, MANIFEST_NAME), "w") as handle:
        handle.write(manifest.model_dump_json(indent=2) + "\n")


def check_parity(model, tokenizer, input_names: tuple[str, ...], onnx_path: str) -> ParityReport:
    from trt_text_classifier.backends.onnxruntime_backend import OnnxRuntimeBackend

    batch = tokenizer(
        list(PARITY_SENTENCES), padding=True, truncation=True, max_length=128, return_tensors="np"
    )
    with torch.no_grad():
        expected = model(
            **{name: torch.from_numpy(batch[name]) for name in input_names}
        ).logits.numpy()
    backend = OnnxRuntimeBackend(onnx_path)
    try:
        actual = backend.infer({name: batch[name] for name in backend.input_names})
    finally:
        backend.close()
    return compare_logits(expected, actual, sentences=len(PARITY_SENTENCES))


def compare_logits(expected: np.ndarray, actual: np.ndarray, *, sentences: int) -> ParityReport:
    difference = np.abs(expected.astype(np.float64) - actual.astype(np.float64))
    scale = max(float(np.abs(expected).max()), float(np.finfo(np.float32).tiny))
    return ParityReport(
        sentences=sentences,
        max_absolute_error=float(difference.max()),
        max_relative_error=float(difference.max()) / scale,
        label_agreement=float(np.mean(expected.argmax(axis=1) == actual.argmax(axis=1))),
    )
