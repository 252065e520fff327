"""build-engine for real with TensorRT-RTX on the CPU: the demo model, its sidecar, its errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import onnx
import pytest
from onnx import TensorProto, helper

from trt_text_classifier import cli
from trt_text_classifier.bundle import BundleManifest
from trt_text_classifier.model_tooling.precision import check_layer_norm_types
from trt_text_classifier.sidecar import EngineSidecar, sha256_of

trt = pytest.importorskip("tensorrt_rtx")

RTX_DEFAULT_TARGETS = ["8.0", "8.6", "8.9", "12.0"]


def build(*args: str) -> int:
    return cli.main(["build-engine", "--builder", "tensorrt-rtx", *args])


def read(engine: Path) -> dict:
    return json.loads(Path(f"{engine}.json").read_text())


def test_fp32_build_writes_engine_sidecar_and_tokenizer(
    demo_engines: dict[str, Path], demo_bundle: Path, demo_onnx: str
) -> None:
    engine = demo_engines["fp32"]
    sidecar = read(engine)
    manifest = BundleManifest.model_validate_json((demo_bundle / "bundle.json").read_text())
    assert EngineSidecar.model_validate(sidecar).precision == "fp32"
    assert {key: sidecar[key] for key in ("builder", "builder_version", "tensorrt_major")} == {
        "builder": "tensorrt-rtx",
        "builder_version": trt.__version__,
        "tensorrt_major": int(trt.__version__.split(".")[0]),
    }
    assert sidecar["tensorrt_minor"] == int(trt.__version__.split(".")[1])
    assert sidecar["compute_capabilities"] == RTX_DEFAULT_TARGETS
    assert sidecar["batch"] == {"min": 1, "opt": 32, "max": 64}
    assert sidecar["sequence"] == {"min": 1, "opt": 128, "max": 128}
    assert sidecar["inputs"] == [
        {"name": name, "shape": [-1, -1], "dtype": "int64"} for name in manifest.input_names
    ]
    assert sidecar["outputs"] == [{"name": "logits", "shape": [-1, 2], "dtype": "float32"}]
    assert sidecar["labels"] == list(manifest.labels)
    assert sidecar["tokenizer"] == "demo-fp32.plan.tokenizer"
    assert sorted(os.listdir(f"{engine}.tokenizer")) == [
        "config.json",
        "tokenizer.json",
        "tokenizer_config.json",
    ]
    assert sidecar["engine_sha256"] == sha256_of(str(engine))
    assert sidecar["onnx_sha256"] == sha256_of(demo_onnx)
    assert sidecar["onnx_path"] == demo_onnx
    assert sidecar["workspace_mib"] == 4096
    assert sidecar["build_seconds"] > 0
    assert engine.stat().st_size > 100_000


def test_fp16_build_has_its_profile_and_differs_from_fp32(demo_engines: dict[str, Path]) -> None:
    sidecar = read(demo_engines["fp16"])
    assert sidecar["precision"] == "fp16"
    assert sidecar["batch"] == {"min": 1, "opt": 4, "max": 16}
    assert sidecar["sequence"] == {"min": 8, "opt": 32, "max": 64}
    assert sidecar["workspace_mib"] == 512
    assert sidecar["compute_capabilities"] == RTX_DEFAULT_TARGETS
    assert sidecar["outputs"] == [{"name": "logits", "shape": [-1, 2], "dtype": "float32"}]
    assert sidecar["engine_sha256"] != read(demo_engines["fp32"])["engine_sha256"]
    assert sidecar["onnx_sha256"] == read(demo_engines["fp32"])["onnx_sha256"]


def test_t4_build_targets_compute_capability_7_5_in_fp16(demo_engines: dict[str, Path]) -> None:
    sidecar = read(demo_engines["sm75"])
    assert sidecar["compute_capabilities"] == ["7.5"]
    assert sidecar["precision"] == "fp16"
    assert EngineSidecar.model_validate(sidecar).supports_compute_capability("7.5")
    assert not EngineSidecar.model_validate(sidecar).supports_compute_capability("8.6")


def test_build_prints_a_summary_and_notes_the_ignored_timing_cache(
    demo_onnx: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = tmp_path / "e.plan"
    cache = tmp_path / "t.cache"
    status = build("--onnx", demo_onnx, "--output", str(engine), "--timing-cache", str(cache))
    out, err = capsys.readouterr()
    assert status == 0
    assert out.startswith(f"engine: {engine} (")
    assert f"tensorrt-rtx {trt.__version__}, fp16, compute capability 8.0,8.6,8.9,12.0" in out
    assert out.endswith(f"sidecar: {engine}.json\ntokenizer: {engine}.tokenizer\n")
    assert err == f"note: --timing-cache={cache} ignored: tensorrt-rtx has no timing cache\n"


def test_fp32_for_t4_is_refused_with_the_fix(
    demo_onnx: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = tmp_path / "t4.plan"
    status = build(
        "--onnx", demo_onnx, "--output", str(engine), "--precision", "fp32",
        "--compute-capability", "7.5",
    )  # fmt: skip
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith(
        f"error: tensorrt-rtx {trt.__version__} could not build {demo_onnx} for compute "
        "capability 7.5: compute capability 7.5 (Turing, T4) runs no fp32 matrix products in "
        "TensorRT-RTX; use --precision fp16 ("
    )
    assert "FP32 GEMM is not supported" in err
    assert not engine.exists()


def write_broken_bundle(directory: Path, demo_bundle: Path) -> Path:
    """A bundle whose ONNX graph holds one node of an operator no parser knows."""
    ids = helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"])
    logits = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 2])
    node = helper.make_node("NotAnOperator", ["input_ids"], ["logits"], name="broken_node")
    graph = helper.make_graph([node], "broken", [ids], [logits])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, str(directory / "model.onnx"))
    (directory / "bundle.json").write_text((demo_bundle / "bundle.json").read_text())
    return directory / "model.onnx"


def test_parse_errors_name_the_node_the_operator_and_the_reason(
    demo_bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = write_broken_bundle(tmp_path, demo_bundle)
    status = build(
        "--onnx", str(broken), "--output", str(tmp_path / "b.plan"), "--precision", "fp32"
    )
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith(
        f"error: --onnx={broken}: tensorrt-rtx {trt.__version__} cannot parse the model: "
        "node 'broken_node' (operator NotAnOperator): "
    )
    assert "Plugin not found" in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("flags", "status", "message"),
    [
        (
            ["--compute-capability", "9.0"],
            1,
            "error: --compute-capability=9.0: tensorrt-rtx {version} cannot build for it; it "
            "supports 7.5, 8.0, 8.6, 8.9, 12.0, 12.1 (compute capability 9.0, H100, needs "
            "--builder tensorrt on an H100)\n",
        ),
        (
            ["--compute-capability", "sm75"],
            2,
            "error: --compute-capability: expected X.Y[,X.Y...] such as 7.5 or 8.0,8.6, got "
            "'sm75'\n",
        ),
        (
            ["--precision", "bf16"],
            1,
            "error: --precision=bf16: tensorrt-rtx {version} builds strongly typed networks only "
            "and this project converts ONNX to fp16 only; use --precision fp16\n",
        ),
        (
            ["--batch", "8,4,16"],
            2,
            "error: --batch='8,4,16': expected MIN,OPT,MAX positive integers with "
            "MIN <= OPT <= MAX, e.g. 1,32,64\n",
        ),
        (
            ["--seq", "1,128,1024"],
            1,
            "error: --seq=1,128,1024: MAX above the model's limit of 512 tokens; use at most 512\n",
        ),
    ],
)
def test_bad_requests_are_refused_in_one_line(
    demo_onnx: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    flags: list[str],
    status: int,
    message: str,
) -> None:
    engine = tmp_path / "x.plan"
    assert build("--onnx", demo_onnx, "--output", str(engine), *flags) == status
    assert capsys.readouterr().err == message.format(version=trt.__version__)
    assert not engine.exists()


def test_onnx_without_its_bundle_manifest_is_refused(
    tmp_path: Path, demo_onnx: str, capsys: pytest.CaptureFixture[str]
) -> None:
    lonely = tmp_path / "model.onnx"
    lonely.write_bytes(Path(demo_onnx).read_bytes())
    assert build("--onnx", str(lonely), "--output", str(tmp_path / "x.plan")) == 1
    assert capsys.readouterr().err == (
        f"error: --onnx={lonely}: {tmp_path}/bundle.json is missing; build from a directory "
        "written by `trt-text-classifier export` or `demo-model` (labels and tokenizer come "
        "from it)\n"
    )


def test_fp16_conversion_keeps_layer_norm_types_consistent(demo_onnx: str, tmp_path: Path) -> None:
    from trt_text_classifier.model_tooling.precision import convert_to_float16

    target = tmp_path / "fp16.onnx"
    convert_to_float16(demo_onnx, str(target))
    model = onnx.load(str(target))
    assert [item.type.tensor_type.elem_type for item in model.graph.output] == [TensorProto.FLOAT]
    assert {item.type.tensor_type.elem_type for item in model.graph.input} == {TensorProto.INT64}
    check_layer_norm_types(model)


def test_mixed_layer_norm_types_are_detected() -> None:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT16, [2, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT16, [2, 4])
    scale = helper.make_tensor("scale", TensorProto.FLOAT, [4], [1.0] * 4)
    node = helper.make_node("LayerNormalization", ["x", "scale"], ["y"], name="ln", axis=-1)
    graph = helper.make_graph([node], "mixed", [x], [y], initializer=[scale])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(ValueError) as error:
        check_layer_norm_types(model)
    assert str(error.value) == (
        "LayerNormalization node 'ln' mixes input types ['FLOAT', 'FLOAT16'] after fp16 "
        "conversion; export the model in fp32 and convert again"
    )
