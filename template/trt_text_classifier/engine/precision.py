"""fp16 variants of an fp32 ONNX model, for strongly typed TensorRT networks.

Strongly typed networks (TensorRT-RTX always; TensorRT 10 optionally; TensorRT 11
only) take every tensor's precision from the ONNX types, so an fp16 engine
needs an fp16 ONNX. The conversion keeps the graph's inputs (int64 ids) and
output (float32 logits) types, so the engine's interface does not change.

All floating-point math becomes fp16, LayerNormalization included: its input,
scale and bias then share one type, which TensorRT requires (an fp16 export
with `model.half()` produced a LayerNormalization with mixed types that the
parser rejected). Blocking LayerNormalization/Softmax from conversion was
tried and broke initializers shared through Identity nodes, so it is not done.
The attention mask's large negative constant (float32 min) is clamped by the
converter to -10000, which still zeroes masked positions after softmax.
"""

from __future__ import annotations

import warnings

import onnx

LAYER_NORM = "LayerNormalization"


def convert_to_float16(source: str, target: str) -> None:
    """Write an fp16 copy of the fp32 ONNX `source` to `target` (float32 logits kept)."""
    from onnxconverter_common import float16

    model = onnx.load(source)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        converted = float16.convert_float_to_float16(model, keep_io_types=True)
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
