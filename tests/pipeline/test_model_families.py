"""BERT, DistilBERT, RoBERTa and XLM-R classifiers: export, serve and build, each family for real.

Every family is a tiny random model built by the tests (`support/tiny_models.py`),
exported with the parity check, served through the whole pipeline (whose
predictions must equal ONNX Runtime on the Hugging Face tokenizer's own
encoding of the same text) and built into a TensorRT-RTX engine on the CPU.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from support.engine_builds import build_engine
from support.tiny_models import FAMILIES, LABELS, MULTI_LABELS, TinyBundle, save_tiny_model
from trt_text_classifier.backends.onnxruntime_backend import OnnxRuntimeBackend
from trt_text_classifier.model_tooling.export import export_bundle
from trt_text_classifier.run import run_pipeline

LONG_TEXT = " ".join(["The cast is wonderful but the story drags on and on."] * 60)
"""Far more tokens than any model takes: served truncated at the family's usable limit."""
TEXTS = (
    "A warm and funny film.",
    "The plot is dull and the acting is wooden.",
    "Great.",
    "Clever, charming and full of surprises: the best film of the year!",
    LONG_TEXT,
)


def manifest(bundle: TinyBundle) -> dict:
    return json.loads((bundle.bundle / "bundle.json").read_text())


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_export_records_the_family_inputs_limit_and_parity(
    family: str, family_bundles: dict[str, TinyBundle]
) -> None:
    bundle = family_bundles[family]
    assert bundle.parity.label_agreement == 1.0
    assert bundle.parity.max_relative_error < 1e-4
    assert {key: manifest(bundle)[key] for key in ("labels", "input_names", "problem_type")} == {
        "labels": list(LABELS),
        "input_names": list(FAMILIES[family].input_names),
        "problem_type": "single_label_classification",
    }


@pytest.mark.parametrize(("family", "limit"), [("bert", 512), ("roberta", 512)])
def test_the_sequence_limit_is_what_the_positions_can_serve(
    family: str, limit: int, family_bundles: dict[str, TinyBundle]
) -> None:
    # RoBERTa has 514 position embeddings, but positions start after its padding index (1).
    assert manifest(family_bundles[family])["max_sequence_length"] == limit


def onnx_runtime_probabilities(bundle: TinyBundle, max_length: int) -> np.ndarray:
    """Softmax of ONNX Runtime's logits on the Hugging Face tokenizer's encoding, one text at a time."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(bundle.bundle))
    backend = OnnxRuntimeBackend(bundle.onnx)
    rows = []
    try:
        for text in TEXTS:
            encoded = tokenizer([text], truncation=True, max_length=max_length, return_tensors="np")
            rows.append(backend.infer({name: encoded[name] for name in backend.input_names})[0])
    finally:
        backend.close()
    logits = np.array(rows, dtype=np.float64)
    exponentials = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exponentials / exponentials.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_the_pipeline_answers_what_onnx_runtime_answers(
    family: str, family_bundles: dict[str, TinyBundle], tmp_path: Path
) -> None:
    bundle = family_bundles[family]
    limit = manifest(bundle)["max_sequence_length"]
    source = tmp_path / "in.txt"
    source.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    run_pipeline(
        [
            f"--input={source}",
            f"--output={tmp_path / 'out' / 'predictions'}",
            f"--onnx_path={bundle.onnx}",
            f"--max_seq_length={limit}",
        ],
        wait=True,
    )
    rows = {}
    for shard in (tmp_path / "out").glob("predictions-*.jsonl"):
        for line in shard.read_text("utf-8").splitlines():
            row = json.loads(line)
            rows[int(row["id"].rsplit(":", 1)[1]) - 1] = row
    assert sorted(rows) == list(range(len(TEXTS)))
    served = [[rows[index]["probabilities"][label] for label in LABELS] for index in sorted(rows)]
    expected = onnx_runtime_probabilities(bundle, limit)
    assert np.ptp(expected, axis=0).max() > 0.05, "texts the model cannot tell apart prove nothing"
    np.testing.assert_allclose(served, expected, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_each_family_builds_into_a_tensorrt_rtx_engine(
    family: str, family_bundles: dict[str, TinyBundle], tmp_path: Path
) -> None:
    pytest.importorskip("tensorrt_rtx")
    engine = tmp_path / f"{family}.plan"
    limit = manifest(family_bundles[family])["max_sequence_length"]
    assert (
        build_engine(
            "--onnx", family_bundles[family].onnx, "--output", str(engine),
            "--batch", "1,8,16", "--seq", f"1,64,{limit}",
        )
        == 0
    )  # fmt: skip
    sidecar = json.loads(Path(f"{engine}.json").read_text())
    assert [spec["name"] for spec in sidecar["inputs"]] == list(FAMILIES[family].input_names)
    assert sidecar["labels"] == list(LABELS)
    assert sidecar["sequence"]["max"] == limit
    assert sidecar["problem_type"] == "single_label_classification"
    assert engine.stat().st_size > 0


def test_an_engine_cannot_be_built_past_the_usable_positions(
    family_bundles: dict[str, TinyBundle], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("tensorrt_rtx")
    onnx_path = family_bundles["roberta"].onnx
    assert build_engine("--onnx", onnx_path, "--output", str(tmp_path / "r.plan"),
                        "--seq", "1,64,514") == 1  # fmt: skip
    assert "MAX above the model's limit of 512 tokens" in capsys.readouterr().err


def test_a_multi_label_engine_records_its_problem_type(
    multi_label_bundle: TinyBundle, tmp_path: Path
) -> None:
    pytest.importorskip("tensorrt_rtx")
    engine = tmp_path / "multi.plan"
    assert build_engine("--onnx", multi_label_bundle.onnx, "--output", str(engine),
                        "--batch", "1,8,16", "--seq", "1,32,64") == 0  # fmt: skip
    sidecar = json.loads(Path(f"{engine}.json").read_text())
    assert sidecar["problem_type"] == "multi_label_classification"
    assert sidecar["labels"] == list(MULTI_LABELS)


def test_a_distilbert_saved_with_a_bert_tokenizer_exports_only_the_inputs_it_takes(
    tmp_path: Path,
) -> None:
    # Common on the hub: the tokenizer returns token_type_ids, DistilBERT's forward has none.
    from transformers import BertTokenizerFast

    pretrained = save_tiny_model(FAMILIES["distilbert"], tmp_path / "pretrained")
    BertTokenizerFast.from_pretrained(str(pretrained)).save_pretrained(str(pretrained))
    report = export_bundle(str(pretrained), str(tmp_path / "bundle"))
    assert report.label_agreement == 1.0
    names = json.loads((tmp_path / "bundle" / "bundle.json").read_text())["input_names"]
    assert names == ["input_ids", "attention_mask"]
