"""The checks a swap candidate meets before it is loaded (host-side, no job)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from trt_text_classifier.serving.model_swap import ModelRefused, ServingLimits, read_model_facts

LIMITS = ServingLimits(max_seq_length=64, max_batch_size=32)


def test_an_invalid_bundle_json_is_refused_naming_the_problem(
    demo_bundle: Path, tmp_path: Path
) -> None:
    candidate = shutil.copytree(demo_bundle, tmp_path / "v2")
    manifest = json.loads((candidate / "bundle.json").read_text())
    manifest["labels"] = ["positive", "positive"]
    (candidate / "bundle.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelRefused) as refused:
        read_model_facts(str(candidate / "model.onnx"), LIMITS, "onnxruntime")
    assert str(refused.value) == (
        f"{candidate / 'bundle.json'} is invalid: labels: label 'positive' appears more than "
        "once; each logits column needs its own name (the probabilities are keyed by label)"
    )


def test_a_bundle_json_that_is_a_directory_is_refused_like_at_launch(
    demo_bundle: Path, tmp_path: Path
) -> None:
    candidate = shutil.copytree(demo_bundle, tmp_path / "v2")
    (candidate / "bundle.json").unlink()
    (candidate / "bundle.json").mkdir()
    with pytest.raises(ModelRefused) as refused:
        read_model_facts(str(candidate / "model.onnx"), LIMITS, "onnxruntime")
    assert str(refused.value) == (
        f"{candidate / 'bundle.json'} is a directory; it must be the JSON file the tool wrote"
    )
