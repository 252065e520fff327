"""fp16 variants of an fp32 ONNX model, for strongly typed TensorRT networks.

Strongly typed networks (TensorRT-RTX always; TensorRT 10 optionally; TensorRT 11
only) take every tensor's precision from the ONNX types, so an fp16 engine
needs an fp16 ONNX. The conversion keeps the graph's inputs (int64 ids) and
output (float32 logits) types, so the engine's interface does not change.

Matrix products, attention and the feed-forward layers become fp16;
`FP32_OPERATORS` stay in fp32 with casts around them: LayerNormalization's
mean and variance over 768 values lose precision in fp16 (a documented
source of BERT accuracy loss), and a strongly typed network runs each layer
in exactly the type the ONNX gives it. Each blocked node keeps input, scale
and bias in fp32 together, which TensorRT requires (a `model.half()` export
produced a LayerNormalization with mixed types that the parser rejected;
`check_layer_norm_types` guards against that). The attention mask's large
negative constant (float32 min) is clamped by the converter to -10000, which
still zeroes masked positions after softmax.
"""

from __future__ import annotations

import warnings

import onnx

LAYER_NORM = "LayerNormalization"
FP32_OPERATORS: tuple[str, ...] = (LAYER_NORM,)
"""Operators kept in fp32 in fp16 builds (see the module docstring)."""


def convert_to_float16(source: str, target: str) -> None:
    """Write an fp16 copy of the fp32 ONNX `source` to `target` (float32 logits and
    `FP32_OPERATORS` kept)."""
    from onnxconverter_common import float16

    model = onnx.load(source)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        converted = float16.convert_float_to_float16(
            model, keep_io_types=True, op_block_list=list(FP32_OPERATORS)
        )
    check_layer_norm_types(converted)
    onnx.save(converted, target)


def check_layer_norm_types(model: onnx.ModelProto) -> None:
    """Raise ValueError when a LayerNormalization mixes element types among its inputs."""
    inferred = onnx.shape_inference.infer_shapes(model)
    types = {
        value.name: value.type.tensor_type.elem_type
        for value in [*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output]
    }
    types.update({item.name: item.data_type for item in inferred.graph.initializer})
    for node in inferred.graph.node:
        if node.op_type != LAYER_NORM:
            continue
        found = {
            onnx.TensorProto.DataType.Name(types[name]) for name in node.input if name in types
        }
        if len(found) > 1:
            raise ValueError(
                f"LayerNormalization node {node.name!r} mixes input types {sorted(found)} "
                "after fp16 conversion; export the model in fp32 and convert again"
            )
