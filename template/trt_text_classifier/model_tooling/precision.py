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


def convert_to_float16(
    source: str, target: str, fp32_operators: tuple[str, ...] = FP32_OPERATORS
) -> None:
    """Write an fp16 copy of the fp32 ONNX `source` to `target` (float32 logits and
    `FP32_OPERATORS` kept)."""
    from onnxconverter_common import float16

    model = onnx.load(source)
    materialize_shared_initializers(model)
    separate_fp32_initializers(model, fp32_operators)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        converted = float16.convert_float_to_float16(
            model, keep_io_types=True, op_block_list=list(fp32_operators)
        )
    check_layer_norm_types(converted)
    onnx.save(converted, target)


def materialize_shared_initializers(model: onnx.ModelProto) -> None:
    """Replace each Identity of an initializer by an initializer of its own, in place.

    torch.onnx.export writes equal parameters once and the others as Identity
    nodes (a freshly initialised BERT: every LayerNorm bias is 0). The fp16
    converter then types the Identity's input and output differently when one
    side feeds a node kept in fp32, and the model no longer loads. Copies cost
    little: equal parameters are biases and scales, not weight matrices.
    """
    graph = model.graph
    initializers = {item.name: item for item in graph.initializer}
    outputs = {value.name for value in graph.output}
    for node in list(graph.node):
        if node.op_type != "Identity" or node.input[0] not in initializers:
            continue
        if node.output[0] in outputs:
            continue
        copy = onnx.TensorProto()
        copy.CopyFrom(initializers[node.input[0]])
        copy.name = node.output[0]
        graph.initializer.append(copy)
        graph.node.remove(node)


def separate_fp32_initializers(model: onnx.ModelProto, fp32_operators: tuple[str, ...]) -> None:
    """Give `fp32_operators` nodes their own copy of initializers that fp16 nodes use too.

    The converter gives an initializer one type; shared by a node kept in fp32
    and a node converted to fp16, one of them would get the wrong type.
    """
    graph = model.graph
    initializers = {item.name: item for item in graph.initializer}
    users: dict[str, set[bool]] = {}
    for node in graph.node:
        for name in node.input:
            if name in initializers:
                users.setdefault(name, set()).add(node.op_type in fp32_operators)
    shared = {name for name, kinds in users.items() if kinds == {True, False}}
    for name in shared:
        copy = onnx.TensorProto()
        copy.CopyFrom(initializers[name])
        copy.name = f"{name}.fp32"
        graph.initializer.append(copy)
    for node in graph.node:
        if node.op_type in fp32_operators:
            for index, name in enumerate(node.input):
                if name in shared:
                    node.input[index] = f"{name}.fp32"


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
