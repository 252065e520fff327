"""fp16 builds: LayerNormalization stays in fp32; the converted model still matches fp32."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

from trt_text_classifier.backends.onnxruntime_backend import OnnxRuntimeBackend
from trt_text_classifier.commands.verify_engine import compare_logits
from trt_text_classifier.model_tooling.precision import FP32_OPERATORS, convert_to_float16

FLOAT, FLOAT16 = onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16


@pytest.fixture(scope="module")
def fp16_onnx(demo_onnx: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("fp16") / "model.fp16.onnx"
    convert_to_float16(demo_onnx, str(target))
    return target


def element_types(model: onnx.ModelProto) -> dict[str, int]:
    inferred = onnx.shape_inference.infer_shapes(model)
    graph = inferred.graph
    types = {
        value.name: value.type.tensor_type.elem_type
        for value in [*graph.value_info, *graph.input, *graph.output]
    }
    types.update({item.name: item.data_type for item in graph.initializer})
    return types


def test_layer_normalization_runs_in_fp32_and_matrix_products_in_fp16(fp16_onnx: Path) -> None:
    model = onnx.load(str(fp16_onnx))
    types = element_types(model)
    layer_norms = [node for node in model.graph.node if node.op_type == "LayerNormalization"]
    assert layer_norms
    for node in layer_norms:
        assert {types[name] for name in [*node.input, *node.output] if name} == {FLOAT}
    assert "LayerNormalization" in FP32_OPERATORS
    matmul_weights = [
        types[name]
        for node in model.graph.node
        if node.op_type == "MatMul"
        for name in node.input
        if name in {item.name for item in model.graph.initializer}
    ]
    assert matmul_weights
    assert set(matmul_weights) == {FLOAT16}


def test_the_interface_keeps_int64_inputs_and_float32_logits(fp16_onnx: Path) -> None:
    graph = onnx.load(str(fp16_onnx)).graph
    assert {value.type.tensor_type.elem_type for value in graph.input} == {onnx.TensorProto.INT64}
    assert [value.type.tensor_type.elem_type for value in graph.output] == [FLOAT]


def test_fp16_logits_agree_with_fp32_on_the_demo_model(demo_onnx: str, fp16_onnx: Path) -> None:
    rng = np.random.default_rng(0)
    ids = rng.integers(1, 250, size=(32, 24), dtype=np.int64)
    mask = np.ones_like(ids)
    mask[:16, 12:] = 0
    inputs = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    reference, converted = OnnxRuntimeBackend(demo_onnx), OnnxRuntimeBackend(str(fp16_onnx))
    comparison = compare_logits(reference.infer(inputs), converted.infer(inputs))
    reference.close()
    converted.close()
    assert comparison.label_agreement == 1.0
    assert comparison.max_abs_error < 0.05


def model_sharing_an_initializer_through_identity() -> onnx.ModelProto:
    """What torch.onnx.export writes when two parameters are equal (freshly initialised BERT:
    every LayerNorm bias is 0): one initializer, Identity nodes for the others."""
    from onnx import helper, numpy_helper

    ones, zeros = np.ones(4, dtype=np.float32), np.zeros(4, dtype=np.float32)
    weight = np.arange(16, dtype=np.float32).reshape(4, 4) / 16
    nodes = [
        helper.make_node("Identity", ["zeros"], ["dense2_bias"], name="identity1"),
        helper.make_node("Identity", ["ones"], ["norm2_scale"], name="identity2"),
        helper.make_node("MatMul", ["x", "weight"], ["dense"], name="matmul1"),
        helper.make_node("Add", ["dense", "zeros"], ["biased"], name="add1"),
        helper.make_node(
            "LayerNormalization", ["biased", "ones", "zeros"], ["normed"], name="norm1", axis=-1
        ),
        helper.make_node("MatMul", ["normed", "weight"], ["dense2"], name="matmul2"),
        helper.make_node("Add", ["dense2", "dense2_bias"], ["biased2"], name="add2"),
        helper.make_node(
            "LayerNormalization", ["biased2", "norm2_scale", "zeros"], ["y"], name="norm2", axis=-1
        ),
    ]
    graph = helper.make_graph(
        nodes,
        "shared",
        [helper.make_tensor_value_info("x", FLOAT, [2, 4])],
        [helper.make_tensor_value_info("y", FLOAT, [2, 4])],
        [
            numpy_helper.from_array(ones, "ones"),
            numpy_helper.from_array(zeros, "zeros"),
            numpy_helper.from_array(weight, "weight"),
        ],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_initializers_shared_through_identity_nodes_convert(tmp_path: Path) -> None:
    import onnxruntime

    source, target = tmp_path / "shared.onnx", tmp_path / "shared.fp16.onnx"
    onnx.save(model_sharing_an_initializer_through_identity(), str(source))
    convert_to_float16(str(source), str(target))
    x = np.array([[1, 2, 3, 4], [4, 1, 0, 2]], dtype=np.float32)
    (expected,) = onnxruntime.InferenceSession(str(source)).run(None, {"x": x})
    (actual,) = onnxruntime.InferenceSession(str(target)).run(None, {"x": x})
    np.testing.assert_allclose(actual, expected, atol=1e-2)
