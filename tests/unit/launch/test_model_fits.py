"""A model checked whole at launch: the ONNX graph, bundle.json and the tokenizer must fit.

Each case copies the demo bundle, breaks one thing (the ONNX graph edited with
onnx.helper, or bundle.json, or the tokenizer) and expects launch's one-line
refusal naming the parameter and the fix. Before these checks every case here
but the float input passed launch, then served dead letters or wrong predictions.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import onnx
import pytest
from onnx import TensorProto, helper

from support.repository import EXAMPLES
from trt_text_classifier.cli import main
from trt_text_classifier.errors import ParameterError
from trt_text_classifier.launch.parameters import PipelineParameters
from trt_text_classifier.launch.preflight import check_parameters
from trt_text_classifier.sidecar import sha256_of


def broken_bundle(
    demo_bundle: Path,
    directory: Path,
    edit_model: Callable[[onnx.ModelProto], None] | None = None,
    edit_manifest: Callable[[dict], None] | None = None,
    *,
    keep_digest: bool = False,
) -> Path:
    """The demo bundle copied to `directory`, its graph and manifest edited; returns model.onnx."""
    shutil.copytree(demo_bundle, directory, dirs_exist_ok=True)
    model_path = directory / "model.onnx"
    manifest_path = directory / "bundle.json"
    manifest = json.loads(manifest_path.read_text())
    if edit_model is not None:
        model = onnx.load(str(model_path))
        edit_model(model)
        onnx.save(model, str(model_path))
    if not keep_digest:
        manifest["onnx_sha256"] = sha256_of(str(model_path))
    if edit_manifest is not None:
        edit_manifest(manifest)
    manifest_path.write_text(json.dumps(manifest))
    return model_path


def refusal(model_path: Path, tmp_path: Path, tokenizer: str | None = None) -> str:
    params = PipelineParameters(
        input=str(EXAMPLES / "reviews-1.txt"),
        output=str(tmp_path / "out" / "predictions"),
        onnx_path=str(model_path),
        tokenizer=tokenizer,
    )
    with pytest.raises(ParameterError) as error:
        check_parameters(params)
    message = str(error.value)
    assert "\n" not in message
    return message


def graph_input(model: onnx.ModelProto, name: str) -> onnx.ValueInfoProto:
    return next(value for value in model.graph.input if value.name == name)


def three_labels(manifest: dict) -> None:
    manifest["labels"] = ["negative", "neutral", "positive"]


def no_labels(manifest: dict) -> None:
    manifest["labels"] = []


def per_token_output(model: onnx.ModelProto) -> None:
    output = model.graph.output[0]
    output.CopyFrom(
        helper.make_tensor_value_info(output.name, TensorProto.FLOAT, ["batch", "sequence", 2])
    )


def position_ids_input(model: onnx.ModelProto) -> None:
    model.graph.input.append(
        helper.make_tensor_value_info("position_ids", TensorProto.INT64, ["batch", "sequence"])
    )


def renamed_ids(model: onnx.ModelProto) -> None:
    graph_input(model, "input_ids").name = "ids"
    for node in model.graph.node:
        for index, name in enumerate(node.input):
            if name == "input_ids":
                node.input[index] = "ids"


def float_token_types(model: onnx.ModelProto) -> None:
    graph_input(model, "token_type_ids").type.tensor_type.elem_type = TensorProto.FLOAT


def fixed_axis(axis: int, size: int) -> Callable[[onnx.ModelProto], None]:
    def edit(model: onnx.ModelProto) -> None:
        for value in model.graph.input:
            value.type.tensor_type.shape.dim[axis].dim_value = size

    return edit


def new_doc_string(model: onnx.ModelProto) -> None:
    model.doc_string = "replaced after the export"


CASES = {
    "more labels than columns": (
        None,
        three_labels,
        "--onnx_path='{model}': output 'logits' has 2 columns but {bundle}/bundle.json lists "
        "3 labels; give one label per logits column (export the model again)",
    ),
    "no labels": (
        None,
        no_labels,
        "--onnx_path='{model}': {bundle}/bundle.json lists no labels; name one label per "
        "logits column (export the model again)",
    ),
    "3-D output": (
        per_token_output,
        None,
        "--onnx_path='{model}': output 'logits' has 3 axes, but one (batch, labels) logits "
        "row per record is served; export a sequence classifier (not a token classifier) "
        "with `trt-text-classifier export`",
    ),
    "position_ids input": (
        position_ids_input,
        None,
        "--onnx_path='{model}': input 'position_ids' is not produced by the tokenizer (it "
        "gives input_ids, attention_mask, token_type_ids); export the model with "
        "`trt-text-classifier export`, whose inputs the tokenizer feeds",
    ),
    "renamed ids": (
        renamed_ids,
        None,
        "--onnx_path='{model}': input 'ids' is not produced by the tokenizer (it gives "
        "input_ids, attention_mask, token_type_ids); export the model with "
        "`trt-text-classifier export`, whose inputs the tokenizer feeds",
    ),
    "float input": (
        float_token_types,
        None,
        "--onnx_path='{model}': input 'token_type_ids' is float32, but the tokenizer feeds "
        "int64 or int32 token ids; export the model with `trt-text-classifier export`",
    ),
    "fixed sequence": (
        fixed_axis(1, 128),
        None,
        "--onnx_path='{model}': input 'input_ids' has a fixed sequence axis of 128, but "
        "batches vary in size and length; export the model with dynamic axes "
        "(`trt-text-classifier export`)",
    ),
    "fixed batch": (
        fixed_axis(0, 1),
        None,
        "--onnx_path='{model}': input 'input_ids' has a fixed batch axis of 1, but batches "
        "vary in size and length; export the model with dynamic axes "
        "(`trt-text-classifier export`)",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_a_model_that_does_not_fit_is_refused(case: str, demo_bundle: Path, tmp_path: Path) -> None:
    edit_model, edit_manifest, expected = CASES[case]
    model = broken_bundle(demo_bundle, tmp_path / "bundle", edit_model, edit_manifest)
    assert refusal(model, tmp_path) == expected.format(model=model, bundle=model.parent)


def test_a_replaced_model_is_refused_at_launch(demo_bundle: Path, tmp_path: Path) -> None:
    model = broken_bundle(demo_bundle, tmp_path / "bundle", new_doc_string, keep_digest=True)
    assert refusal(model, tmp_path) == (
        f"--onnx_path={str(model)!r}: its SHA-256 differs from onnx_sha256 in "
        f"{model.parent}/bundle.json; the model or the manifest was replaced after the "
        "export: copy the whole exported directory, or export the model again"
    )


def test_another_models_tokenizer_is_refused(demo_bundle: Path, tmp_path: Path) -> None:
    from tokenizers import Tokenizer

    other = tmp_path / "other-tokenizer"
    shutil.copytree(demo_bundle, other)
    tokenizer = Tokenizer.from_file(str(other / "tokenizer.json"))
    tokenizer.add_tokens([f"word{index}" for index in range(300)])
    tokenizer.save(str(other / "tokenizer.json"))
    vocabulary = tokenizer.get_vocab_size(with_added_tokens=True)
    assert refusal(demo_bundle / "model.onnx", tmp_path, tokenizer=str(other)) == (
        f"--tokenizer={str(other)!r}: the tokenizer has {vocabulary} tokens but the model's "
        "word embeddings have 282 rows: it belongs to another model; give the tokenizer "
        "saved with this model (its export directory)"
    )


def test_the_demo_model_fits(demo_bundle: Path, tmp_path: Path) -> None:
    params = PipelineParameters(
        input=str(EXAMPLES / "reviews-1.txt"),
        output=str(tmp_path / "out" / "predictions"),
        onnx_path=str(demo_bundle / "model.onnx"),
    )
    check_parameters(params)


def test_run_exits_2_with_the_refusal(
    demo_bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = broken_bundle(demo_bundle, tmp_path / "bundle", per_token_output)
    status = main(
        [
            "run",
            f"--input={EXAMPLES / 'reviews-1.txt'}",
            f"--output={tmp_path / 'out' / 'predictions'}",
            f"--onnx_path={model}",
        ]
    )
    err = capsys.readouterr().err
    assert status == 2
    assert err == f"error: --onnx_path={str(model)!r}: output 'logits' has 3 axes, but one " + (
        "(batch, labels) logits row per record is served; export a sequence classifier (not a "
        "token classifier) with `trt-text-classifier export`\n"
    )
    assert not (tmp_path / "out").exists()


def test_onnx_checker_runs_only_for_a_model_the_manifest_names_no_sha256_of(
    demo_bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A file whose SHA-256 is the export's was loaded by ONNX Runtime and compared with the
    # framework there: the checker's second read of it (about 1 s for BERT-base) is skipped.
    from trt_text_classifier.bundle import BundleManifest
    from trt_text_classifier.launch.model_checks import check_onnx_model

    checked: list[str] = []
    monkeypatch.setattr(onnx.checker, "check_model", lambda path, *a, **k: checked.append(path))
    manifest = BundleManifest.model_validate_json((demo_bundle / "bundle.json").read_text())
    assert manifest.onnx_sha256 == sha256_of(str(demo_bundle / "model.onnx"))
    graph = check_onnx_model(str(demo_bundle / "model.onnx"), manifest)
    assert checked == []
    unnamed = manifest.model_copy(update={"onnx_sha256": None})
    assert check_onnx_model(str(demo_bundle / "model.onnx"), unnamed) == graph
    assert checked == [str(demo_bundle / "model.onnx")]
