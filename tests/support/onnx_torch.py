"""Runs an exported BERT ONNX graph with PyTorch, node by node, from the ONNX's own weights.

For the TensorRT stand-in (`tensorrt_standin.py`): the GPU test machine has
PyTorch with CUDA but no TensorRT and no ONNX Runtime for CUDA. Covers the
operators `torch.onnx.export` writes for BERT-family classifiers at opset 17;
an unknown operator raises `NotImplementedError` naming it. Shape arithmetic
(Shape, Gather on shapes, Concat, ...) stays in small CPU tensors, so running
the graph enqueues the model's kernels without waiting for the GPU.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper

TORCH_TYPES = {
    onnx.TensorProto.FLOAT: torch.float32,
    onnx.TensorProto.FLOAT16: torch.float16,
    onnx.TensorProto.DOUBLE: torch.float64,
    onnx.TensorProto.INT64: torch.int64,
    onnx.TensorProto.INT32: torch.int32,
    onnx.TensorProto.BOOL: torch.bool,
}
SMALL = 64
"""Integer tensors up to this many elements stay on the CPU: they are shapes and indices."""


def _on_one_device(*tensors: torch.Tensor) -> list[torch.Tensor]:
    devices = {tensor.device for tensor in tensors}
    if len(devices) == 1:
        return list(tensors)
    target = next(device for device in devices if device.type != "cpu")
    return [tensor.to(target) for tensor in tensors]


def _ints(tensor: torch.Tensor) -> list[int]:
    return [int(value) for value in tensor.reshape(-1).tolist()]


def _binary(function: Callable) -> Callable:
    def run(node: Any, attributes: dict, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return function(*_on_one_device(a, b))

    return run


def _divide(node: Any, attributes: dict, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    a, b = _on_one_device(a, b)
    if a.is_floating_point():
        return a / b
    return torch.div(a, b, rounding_mode="trunc")


def _gather(node: Any, attributes: dict, data: torch.Tensor, indices: torch.Tensor):
    axis = attributes.get("axis", 0) % data.dim()
    indices = indices.to(data.device).long()
    indices = torch.where(indices < 0, indices + data.shape[axis], indices)
    picked = torch.index_select(data, axis, indices.reshape(-1))
    return picked.reshape((*data.shape[:axis], *indices.shape, *data.shape[axis + 1 :]))


def _unsqueeze(node: Any, attributes: dict, data: torch.Tensor, axes: torch.Tensor):
    rank = data.dim() + axes.numel()
    for axis in sorted(value % rank for value in _ints(axes)):
        data = data.unsqueeze(axis)
    return data


def _reshape(node: Any, attributes: dict, data: torch.Tensor, shape: torch.Tensor):
    target = [data.shape[index] if size == 0 else size for index, size in enumerate(_ints(shape))]
    return data.reshape(target)


def _slice(node: Any, attributes: dict, data: torch.Tensor, starts, ends, axes=None, steps=None):
    starts, ends = _ints(starts), _ints(ends)
    axes = _ints(axes) if axes is not None else list(range(len(starts)))
    steps = _ints(steps) if steps is not None else [1] * len(starts)
    index = [slice(None)] * data.dim()
    for start, end, axis, step in zip(starts, ends, axes, steps, strict=True):
        size = data.shape[axis]
        if step != 1:
            raise NotImplementedError("Slice with a step other than 1")
        start = max(0, min(size, start + size if start < 0 else start))
        end = max(0, min(size, end + size if end < 0 else end))
        index[axis] = slice(start, end)
    return data[tuple(index)]


def _layer_norm(node: Any, attributes: dict, x, scale, bias=None):
    axis = attributes.get("axis", -1) % x.dim()
    return torch.nn.functional.layer_norm(
        x, x.shape[axis:], scale, bias, attributes.get("epsilon", 1e-5)
    )


def _gemm(node: Any, attributes: dict, a, b, c=None):
    a = a.transpose(-1, -2) if attributes.get("transA", 0) else a
    b = b.transpose(-1, -2) if attributes.get("transB", 0) else b
    result = attributes.get("alpha", 1.0) * (a @ b)
    if c is not None:
        result = result + attributes.get("beta", 1.0) * c
    return result


def _constant_of_shape(node: Any, attributes: dict, shape: torch.Tensor):
    value = attributes.get("value")
    if value is None:
        return torch.zeros(_ints(shape), dtype=torch.float32)
    fill = numpy_helper.to_array(value).reshape(-1)[0].item()
    return torch.full(_ints(shape), fill, dtype=TORCH_TYPES[value.data_type])


def _shape(node: Any, attributes: dict, data: torch.Tensor):
    dims = list(data.shape)[attributes.get("start", 0) : attributes.get("end")]
    return torch.tensor(dims, dtype=torch.int64)


OPERATORS: dict[str, Callable] = {
    "Identity": lambda node, attributes, x: x,
    "Shape": _shape,
    "Gather": _gather,
    "Unsqueeze": _unsqueeze,
    "Squeeze": lambda node, attributes, x, axes=None: (
        x.squeeze(tuple(_ints(axes))) if axes is not None else x.squeeze()
    ),
    "Concat": lambda node, attributes, *xs: torch.cat(_on_one_device(*xs), attributes["axis"]),
    "Reshape": _reshape,
    "Transpose": lambda node, attributes, x: x.permute(attributes["perm"]),
    "MatMul": _binary(torch.matmul),
    "Add": _binary(torch.add),
    "Sub": _binary(torch.sub),
    "Mul": _binary(torch.mul),
    "Div": _divide,
    "Pow": _binary(torch.pow),
    "Equal": _binary(torch.eq),
    "Greater": _binary(torch.gt),
    "GreaterOrEqual": _binary(torch.ge),
    "Less": _binary(torch.lt),
    "And": _binary(torch.logical_and),
    "Not": lambda node, attributes, x: torch.logical_not(x),
    "Where": lambda node, attributes, c, x, y: torch.where(*_on_one_device(c, x, y)),
    "Cast": lambda node, attributes, x: x.to(TORCH_TYPES[attributes["to"]]),
    "LayerNormalization": _layer_norm,
    "Softmax": lambda node, attributes, x: torch.softmax(x, attributes.get("axis", -1)),
    "Erf": lambda node, attributes, x: torch.erf(x),
    "Tanh": lambda node, attributes, x: torch.tanh(x),
    "Sqrt": lambda node, attributes, x: torch.sqrt(x),
    "Gemm": _gemm,
    "Flatten": lambda node, attributes, x: x.reshape(
        int(np.prod(x.shape[: attributes.get("axis", 1)])), -1
    ),
    "Expand": lambda node, attributes, x, shape: x.expand(
        torch.broadcast_shapes(x.shape, tuple(_ints(shape)))
    ),
    "ConstantOfShape": _constant_of_shape,
    "Range": lambda node, attributes, start, limit, delta: torch.arange(
        start.item(), limit.item(), delta.item(), dtype=start.dtype
    ),
    "Slice": _slice,
}


class OnnxTorchModel:
    """The graph of an ONNX file with its initializers as tensors on `device`."""

    def __init__(self, model: onnx.ModelProto, device: str | torch.device) -> None:
        self.device = torch.device(device)
        self.graph = model.graph
        self.output_names = [value.name for value in self.graph.output]
        self.constants: dict[str, torch.Tensor] = {}
        for item in self.graph.initializer:
            self.constants[item.name] = self._place(numpy_helper.to_array(item))
        self.nodes = []
        for node in self.graph.node:
            attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            if node.op_type == "Constant":
                self.constants[node.output[0]] = self._place(
                    numpy_helper.to_array(attributes["value"])
                )
                continue
            if node.op_type not in OPERATORS:
                raise NotImplementedError(f"operator {node.op_type} (node {node.name})")
            self.nodes.append((node, attributes))

    def _place(self, array: np.ndarray) -> torch.Tensor:
        tensor = torch.from_numpy(np.array(array, copy=True))
        small_integers = not tensor.is_floating_point() and tensor.numel() <= SMALL
        return tensor if small_integers else tensor.to(self.device)

    def run(self, inputs: Mapping[str, torch.Tensor]) -> list[torch.Tensor]:
        values = dict(self.constants)
        values.update(inputs)
        for node, attributes in self.nodes:
            arguments = [values[name] if name else None for name in node.input]
            while arguments and arguments[-1] is None:
                arguments.pop()
            result = OPERATORS[node.op_type](node, attributes, *arguments)
            values[node.output[0]] = result
        return [values[name] for name in self.output_names]
