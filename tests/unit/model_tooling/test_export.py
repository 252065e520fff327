"""Export from a local save_pretrained directory, parity with PyTorch, demo determinism."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
import pytest

from trt_text_classifier.cli import main
from trt_text_classifier.model_tooling.export import ExportError, compare_logits, export_bundle


@pytest.fixture(scope="module")
def pretrained_directory(demo_bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised 3-label BERT saved like any Hugging Face checkpoint."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    torch.manual_seed(7)
    directory = tmp_path_factory.mktemp("pretrained")
    tokenizer = AutoTokenizer.from_pretrained(str(demo_bundle))
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=256,
        id2label={0: "sad", 1: "neutral", 2: "happy"},
        label2id={"sad": 0, "neutral": 1, "happy": 2},
    )
    BertForSequenceClassification(config).save_pretrained(str(directory))
    tokenizer.save_pretrained(str(directory))
    return directory


def test_export_command_writes_the_bundle_and_reports_parity(
    pretrained_directory: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "bundle"
    assert main(["export", "--model", str(pretrained_directory), "--output", str(output)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"wrote {output}/model.onnx"
    assert lines[1].startswith("parity on 4 sentences: max abs error ")
    assert lines[1].endswith("label agreement 100%")

    manifest = json.loads((output / "bundle.json").read_text())
    assert manifest == {
        "labels": ["sad", "neutral", "happy"],
        "max_sequence_length": 256,
        "input_names": ["input_ids", "token_type_ids", "attention_mask"],
        "source": str(pretrained_directory),
        "demo": False,
        "onnx_sha256": hashlib.sha256((output / "model.onnx").read_bytes()).hexdigest(),
        "problem_type": "single_label_classification",
    }
    assert (output / "tokenizer.json").exists()
    assert (output / "config.json").exists()


def test_onnx_graph_has_dynamic_batch_and_sequence_on_every_input(demo_bundle: Path) -> None:
    graph = onnx.load(str(demo_bundle / "model.onnx")).graph
    for item in graph.input:
        dims = [d.dim_param for d in item.type.tensor_type.shape.dim]
        assert dims == ["batch", "sequence"], item.name
        assert item.type.tensor_type.elem_type == onnx.TensorProto.INT64
    assert [o.name for o in graph.output] == ["logits"]
    assert graph.output[0].type.tensor_type.shape.dim[0].dim_param == "batch"


def test_parity_report_measures_errors_relative_to_the_largest_logit() -> None:
    expected = np.array([[2.0, -4.0], [0.5, 0.25]], dtype=np.float32)
    actual = np.array([[2.0, -3.9], [0.25, 0.5]], dtype=np.float32)
    report = compare_logits(expected, actual, sentences=2)
    assert report.max_absolute_error == pytest.approx(0.25)
    assert report.max_relative_error == pytest.approx(0.25 / 4.0)
    assert report.label_agreement == 0.5


def test_export_fails_above_tolerance(pretrained_directory: Path, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match=r"ONNX output differs from PyTorch beyond tolerance 0.0"):
        export_bundle(str(pretrained_directory), str(tmp_path / "b"), tolerance=0.0)


def test_export_of_a_missing_model_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nothing-here"
    assert main(["export", "--model", str(missing), "--output", str(tmp_path / "b")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: --model={str(missing)!r}: ")
    assert err.count("\n") == 1


def test_demo_model_gives_the_same_predictions_every_time(
    demo_bundle: Path, tmp_path: Path
) -> None:
    from trt_text_classifier.model_tooling.demo_model import build_demo_model

    build_demo_model(str(tmp_path / "again"))
    for name in ("model.onnx", "tokenizer.json", "bundle.json"):
        assert (tmp_path / "again" / name).read_bytes() == (demo_bundle / name).read_bytes(), name
