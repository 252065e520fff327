"""A strict stand-in for TensorRT's Python module, for GPU tests on a machine without TensorRT.

`install()` puts a fake `tensorrt` module into `sys.modules`; `write_engine`
writes a stand-in engine (a header with the optimization profile, then the
ONNX bytes) with a real sidecar, so the real `TensorRTBackend.from_path` runs
end to end: SHA-256, sidecar, exact version and compute capability checks,
`Runtime.deserialize_cuda_engine`, tensor names and dtypes, one execution
context, `EngineRunner` and `CudaMemory`.

The execution context enforces TensorRT 10's documented rules:
- `set_input_shape` returns False for a shape outside the profile (or of the wrong rank);
- `get_tensor_shape` of the output has -1 dimensions until every input's shape is set;
- `execute_async_v3` returns False when an address is unset or not 256-byte
  aligned, or an input shape is unset or disagrees with the others.
It computes the real model (the ONNX's own graph and weights, run by PyTorch,
`onnx_torch.py`) on the runner's own device buffers, on the runner's stream,
after a deliberate delay on that stream (`DELAY_CYCLES`), so a missing or
misplaced synchronization returns stale or partial logits.

What this proves: the serving code drives an engine as TensorRT specifies, on
real device memory and a real stream, and returns each caller the right
logits under concurrency and for every batch and sequence shape. What only a
run with real TensorRT proves: that real engines deserialize on the target
GPU, their kernels' numerics (fp16 error), the context's own device memory,
and TensorRT's performance.
"""

from __future__ import annotations

import enum
import json
import os
import sys
import types
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import onnx
import torch

from support.onnx_torch import OnnxTorchModel
from trt_text_classifier.bundle import MANIFEST_NAME, BundleManifest
from trt_text_classifier.sidecar import (
    EngineSidecar,
    ProfileRange,
    TensorSpec,
    sha256_of,
    write_sidecar,
)

VERSION = "10.8.0.43"
MAGIC = b"TRT-STANDIN-ENGINE\n"
ALIGNMENT = 256
DELAY_CYCLES = 2_000_000
"""About 1 ms of GPU clock cycles spent on the stream before the model runs and before the
logits are written."""

ONNX_TO_NUMPY = {onnx.TensorProto.INT64: "int64", onnx.TensorProto.INT32: "int32"}
ONNX_TO_NUMPY[onnx.TensorProto.FLOAT] = "float32"


class DataType(enum.Enum):
    INT64 = "int64"
    INT32 = "int32"
    FLOAT = "float32"


def nptype(dtype: DataType) -> type:
    return np.dtype(dtype.value).type


class Logger:
    WARNING = 2

    def __init__(self, severity: int = WARNING) -> None:
        self.severity = severity


@dataclass(frozen=True)
class Header:
    batch: tuple[int, int]
    sequence: tuple[int, int]


def write_engine(
    onnx_path: str,
    engine_path: str,
    *,
    batch: ProfileRange,
    sequence: ProfileRange,
    compute_capability: str,
) -> EngineSidecar:
    """A stand-in engine of `onnx_path` and its sidecar; the bundle's tokenizer is named."""
    header = {"batch": [batch.min, batch.max], "sequence": [sequence.min, sequence.max]}
    with open(onnx_path, "rb") as handle:
        model_bytes = handle.read()
    with open(engine_path, "wb") as handle:
        handle.write(MAGIC + json.dumps(header).encode() + b"\n" + model_bytes)
    graph = onnx.load_from_string(model_bytes).graph
    directory = os.path.dirname(onnx_path)
    with open(os.path.join(directory, MANIFEST_NAME), encoding="utf-8") as handle:
        manifest = BundleManifest.model_validate_json(handle.read())

    def spec(value: Any) -> TensorSpec:
        shape = tuple(
            dim.dim_value if dim.HasField("dim_value") else -1
            for dim in value.type.tensor_type.shape.dim
        )
        return TensorSpec(
            name=value.name, shape=shape, dtype=ONNX_TO_NUMPY[value.type.tensor_type.elem_type]
        )

    sidecar = EngineSidecar(
        builder="tensorrt",
        builder_version=VERSION,
        tensorrt_major=int(VERSION.split(".")[0]),
        tensorrt_minor=int(VERSION.split(".")[1]),
        compute_capabilities=(compute_capability,),
        precision="fp32",
        batch=batch,
        sequence=sequence,
        inputs=tuple(spec(value) for value in graph.input),
        outputs=tuple(spec(value) for value in graph.output),
        labels=manifest.labels,
        tokenizer=os.path.abspath(directory),
        engine_sha256=sha256_of(engine_path),
        onnx_sha256=sha256_of(onnx_path),
        onnx_path=onnx_path,
        workspace_mib=0,
        built_at=datetime.now(UTC).isoformat(timespec="seconds"),
        build_seconds=0.0,
    )
    write_sidecar(engine_path, sidecar)
    return sidecar


class Runtime:
    def __init__(self, logger: Logger) -> None:
        self.logger = logger

    def deserialize_cuda_engine(self, data: bytes) -> Engine | None:
        if not data.startswith(MAGIC):
            return None
        header_line, model_bytes = data[len(MAGIC) :].split(b"\n", 1)
        header = json.loads(header_line)
        return Engine(
            onnx.load_from_string(model_bytes),
            Header(tuple(header["batch"]), tuple(header["sequence"])),
        )


class Engine:
    """An ICudaEngine: IO tensors from the ONNX graph, the weights on the GPU."""

    def __init__(self, model: onnx.ModelProto, header: Header) -> None:
        self.header = header
        self.model = OnnxTorchModel(model, "cuda")
        self.inputs = {
            value.name: ONNX_TO_NUMPY[value.type.tensor_type.elem_type]
            for value in model.graph.input
        }
        self.outputs = {
            value.name: ONNX_TO_NUMPY[value.type.tensor_type.elem_type]
            for value in model.graph.output
        }
        self.labels = model.graph.output[0].type.tensor_type.shape.dim[1].dim_value
        self.device_memory_size_v2 = 0
        torch.cuda.synchronize()  # the weights are on the device before any stream reads them

    refuse_contexts = False
    """Set on the class to make `create_execution_context` return None (memory exhausted)."""

    @property
    def num_io_tensors(self) -> int:
        return len(self.inputs) + len(self.outputs)

    def get_tensor_name(self, index: int) -> str:
        return [*self.inputs, *self.outputs][index]

    def get_tensor_dtype(self, name: str) -> DataType:
        return DataType({**self.inputs, **self.outputs}[name])

    def create_execution_context(self) -> StrictContext | None:
        return None if self.refuse_contexts else StrictContext(self)


class _DeviceArray:
    """Device memory at a raw address, as PyTorch reads it (CUDA array interface v2: no
    stream synchronization implied)."""

    def __init__(self, address: int, shape: tuple[int, ...], dtype: str) -> None:
        self.__cuda_array_interface__ = {
            "shape": shape,
            "typestr": np.dtype(dtype).str,
            "data": (address, False),
            "version": 2,
        }


class StrictContext:
    """An IExecutionContext that refuses what TensorRT refuses (module docstring)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.addresses: dict[str, int] = {}
        self.shapes: dict[str, tuple[int, int]] = {}

    def set_tensor_address(self, name: str, address: int) -> bool:
        if name not in self.engine.inputs and name not in self.engine.outputs:
            return False
        self.addresses[name] = int(address)
        return True

    def set_input_shape(self, name: str, shape: tuple[int, ...]) -> bool:
        shape = tuple(int(size) for size in shape)
        header = self.engine.header
        if name not in self.engine.inputs or len(shape) != 2:
            return False
        ranges = (header.batch, header.sequence)
        if not all(low <= size <= high for (low, high), size in zip(ranges, shape, strict=True)):
            return False
        self.shapes[name] = shape
        return True

    def get_tensor_shape(self, name: str) -> tuple[int, ...]:
        if name in self.engine.inputs:
            return self.shapes.get(name, (-1, -1))
        known = {self.shapes.get(input_name) for input_name in self.engine.inputs}
        if None in known or len(known) != 1:
            return (-1, self.engine.labels)
        ((batch, _),) = known
        return (batch, self.engine.labels)

    def execute_async_v3(self, stream_handle: int) -> bool:
        names = [*self.engine.inputs, *self.engine.outputs]
        if any(
            self.addresses.get(name, 0) % ALIGNMENT or not self.addresses.get(name)
            for name in names
        ):
            return False
        shapes = {self.shapes.get(name) for name in self.engine.inputs}
        if None in shapes or len(shapes) != 1:
            return False
        (shape,) = shapes
        stream = torch.cuda.ExternalStream(stream_handle)
        with torch.cuda.stream(stream), torch.no_grad():
            torch.cuda._sleep(DELAY_CYCLES)
            inputs = {
                name: torch.as_tensor(
                    _DeviceArray(self.addresses[name], shape, dtype), device="cuda"
                )
                for name, dtype in self.engine.inputs.items()
            }
            (logits,) = self.engine.model.run(inputs)
            torch.cuda._sleep(DELAY_CYCLES)
            ((name, dtype),) = self.engine.outputs.items()
            output = torch.as_tensor(
                _DeviceArray(self.addresses[name], (shape[0], self.engine.labels), dtype),
                device="cuda",
            )
            output.copy_(logits)
        return True


def install() -> types.ModuleType:
    """Put the stand-in into `sys.modules["tensorrt"]` (where no real TensorRT is loaded)."""
    if "tensorrt" in sys.modules and not getattr(sys.modules["tensorrt"], "STANDIN", False):
        raise RuntimeError("a real tensorrt module is loaded; the stand-in would hide it")
    module = types.ModuleType("tensorrt", __doc__)
    module.STANDIN = True
    module.__version__ = VERSION
    module.Logger = Logger
    module.Runtime = Runtime
    module.DataType = DataType
    module.nptype = nptype
    sys.modules["tensorrt"] = module
    return module
