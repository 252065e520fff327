"""What a servable model directory holds, described by its `bundle.json` manifest.

The export and demo-model commands write this layout:

    DIR/model.onnx          dynamic batch and sequence axes, inputs named below
    DIR/bundle.json         this manifest
    DIR/tokenizer.json ...  the Hugging Face fast tokenizer, saved with save_pretrained
    DIR/config.json         the Hugging Face model config (labels, architecture)

The manifest is tiny: the launcher reads it to validate parameters (labels,
sequence limit) without downloading the model or the tokenizer.
"""

from __future__ import annotations

import posixpath
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator

MANIFEST_NAME = "bundle.json"
ONNX_NAME = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
"""The fast tokenizer's one file, what `save_pretrained` writes for every fast tokenizer."""

ProblemType = Literal["single_label_classification", "multi_label_classification"]
SINGLE_LABEL: ProblemType = "single_label_classification"
MULTI_LABEL: ProblemType = "multi_label_classification"


class BundleManifest(BaseModel):
    """The manifest of a model directory."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    labels: tuple[str, ...]
    """Label names by class index: logits column i is labels[i]."""
    max_sequence_length: int
    """The model's position limit: `max_seq_length` may not exceed it."""
    input_names: tuple[str, ...]
    """The ONNX graph's inputs, in order."""
    source: str
    """The Hugging Face model id or directory the bundle was exported from."""
    demo: bool = False
    """True for the generated demo model, whose predictions mean nothing."""
    problem_type: ProblemType = SINGLE_LABEL
    """How logits become probabilities: a softmax over the labels (one label per record)
    or a sigmoid per label (any number of labels per record). Manifests written before
    this field existed are single-label."""
    onnx_sha256: str | None = None
    """SHA-256 of model.onnx: the file served must be the one exported (bundles written
    before this field have none and are served unchecked)."""

    @field_validator("labels")
    @classmethod
    def _distinct_labels(cls, labels: tuple[str, ...]) -> tuple[str, ...]:
        return distinct_labels(labels)


def distinct_labels(labels: tuple[str, ...]) -> tuple[str, ...]:
    """`labels`, refused when one repeats: probabilities are keyed by label and would collapse."""
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    if repeated:
        raise ValueError(
            f"label {repeated[0]!r} appears more than once; each logits column needs its "
            "own name (the probabilities are keyed by label)"
        )
    return labels


def manifest_path_for(model_path: str) -> str:
    """The manifest beside a model file (local path or gs://)."""
    return posixpath.join(posixpath.dirname(model_path), MANIFEST_NAME)


def model_directory(model_path: str) -> str:
    return posixpath.dirname(model_path) or "."
