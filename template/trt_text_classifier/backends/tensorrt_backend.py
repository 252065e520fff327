"""TensorRT backend: serves an engine built by `build-engine`, described by its sidecar.

    TensorRTBackend.from_path(engine_path)   local or gs://
      read sidecar -> cache engine locally -> verify SHA-256 -> compare sidecar with
      this runtime (library, major version, GPU compute capability) -> deserialize
      -> one execution context, one stream, pinned + device buffers per tensor
         sized for the profile maximum (EngineRunner)

Per batch (`EngineRunner.infer`): split above the profile's max batch; per
chunk: cast to the engine's dtypes, write into the pinned buffers,
`set_input_shape`, async host-to-device copies of the chunk's bytes,
`execute_async_v3`, async device-to-host copies of the output's bytes, one
synchronize, copy the logits out.

What was executed: the host-side logic against a test double of the
execution context, the CUDA memory layer on an H100, and the compatibility
refusals. What was NOT executed: deserializing and running a real engine (no
TensorRT runtime here supports an available GPU); those calls follow
NVIDIA's documented TensorRT 10 Python API (Runtime.deserialize_cuda_engine,
ICudaEngine.get_tensor_*, IExecutionContext.set_input_shape /
set_tensor_address / get_tensor_shape / execute_async_v3).

Importable without Beam (gs:// paths import it lazily) and without TensorRT.
"""

from __future__ import annotations

import importlib
import math
import os
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from trt_text_classifier.backends.base import BackendError, BackendLimits
from trt_text_classifier.sidecar import (
    BUILDER_MODULES,
    EngineSidecar,
    TensorSpec,
    sha256_of,
)


class DeviceBuffers(Protocol):
    """Host + device memory of one tensor (`cuda_memory.TensorBuffers`)."""

    dtype: np.dtype
    capacity: int
    host: np.ndarray
    device_ptr: int

    def to_device(self, nbytes: int, stream: Any) -> None: ...
    def to_host(self, nbytes: int, stream: Any) -> None: ...
    def close(self) -> None: ...


class Memory(Protocol):
    """Allocates buffers and the stream (`cuda_memory.CudaMemory`)."""

    def allocate(self, dtype: np.dtype, capacity: int) -> DeviceBuffers: ...
    def stream(self) -> Any: ...


class EngineMismatchError(BackendError):
    """The engine was built for another library, TensorRT version or GPU."""


@dataclass(frozen=True)
class RuntimeInfo:
    library: str
    version: str
    compute_capability: str


def probe_runtime(builder: str) -> RuntimeInfo:
    """The TensorRT runtime and GPU present here; BackendError (one line) when either is missing."""
    module = BUILDER_MODULES[builder]
    try:
        trt = importlib.import_module(module)
    except ImportError:
        raise EngineMismatchError(
            f"the engine needs the {builder} runtime (Python module {module}), which is not "
            "installed here; run it in the project's GPU container or serve the ONNX model "
            "with --onnx_path on the CPU"
        ) from None
    from trt_text_classifier.backends.cuda_memory import CudaError, device_compute_capability

    try:
        compute_capability = device_compute_capability()
    except CudaError as error:
        raise EngineMismatchError(
            f"no usable NVIDIA GPU here ({error}); run TensorRT engines on a GPU worker "
            "(Dataflow with worker_accelerator) or serve the ONNX model with --onnx_path"
        ) from None
    return RuntimeInfo(builder, trt.__version__, compute_capability)


def check_runtime(sidecar: EngineSidecar, engine_path: str) -> RuntimeInfo:
    """Refuse, before deserializing, an engine this runtime and GPU cannot run."""
    runtime = probe_runtime(sidecar.builder)
    problem = sidecar.runtime_mismatch(
        engine_path,
        library=runtime.library,
        version=runtime.version,
        compute_capability=runtime.compute_capability,
    )
    if problem:
        raise EngineMismatchError(problem)
    return runtime


class EngineRunner:
    """Host-side execution over one execution context: buffers allocated once, reused.

    `context` is a TensorRT IExecutionContext (or a test double with
    set_input_shape, set_tensor_address, get_tensor_shape, execute_async_v3).
    """

    def __init__(self, context: Any, sidecar: EngineSidecar, memory: Memory) -> None:
        self._context = context
        self._sidecar = sidecar
        self._stream = memory.stream()
        self._inputs: dict[str, DeviceBuffers] = {}
        self._outputs: dict[str, DeviceBuffers] = {}
        try:
            for spec in sidecar.inputs:
                self._inputs[spec.name] = self._bind(memory, spec)
            for spec in sidecar.outputs:
                self._outputs[spec.name] = self._bind(memory, spec)
        except BaseException:
            self.close()
            raise

    def _bind(self, memory: Memory, spec: TensorSpec) -> DeviceBuffers:
        """Allocate for the profile maximum and give the context the device address once."""
        buffers = memory.allocate(np.dtype(spec.dtype), self._capacity(spec))
        if not self._context.set_tensor_address(spec.name, buffers.device_ptr):
            raise BackendError(f"TensorRT refused the device address of tensor {spec.name!r}")
        return buffers

    def _capacity(self, spec: TensorSpec) -> int:
        """Elements at the profile maximum: -1 dims are (batch, sequence) in that order."""
        maxima = iter((self._sidecar.batch.max, self._sidecar.sequence.max))
        return math.prod(next(maxima) if size < 0 else size for size in spec.shape)

    @property
    def limits(self) -> BackendLimits:
        return BackendLimits(self._sidecar.batch.max, self._sidecar.sequence.max)

    def infer(self, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        arrays = {name: np.asarray(inputs[name]) for name in self._inputs}
        batch = self._check_shapes(arrays)
        step = self._sidecar.batch.max
        chunks = [
            self._run({name: array[start : start + step] for name, array in arrays.items()})
            for start in range(0, batch, step)
        ]
        if not chunks:
            labels = self._sidecar.outputs[0].shape[-1]
            return np.empty((0, labels), dtype=np.float32)
        return np.concatenate(chunks) if len(chunks) > 1 else chunks[0]

    def _check_shapes(self, arrays: Mapping[str, np.ndarray]) -> int:
        """The batch size, after checking the shapes against the profile."""
        shapes = {array.shape for array in arrays.values()}
        if len(shapes) != 1 or len(next(iter(shapes))) != 2:
            raise BackendError(f"inputs must share one (batch, sequence) shape, got {shapes}")
        batch, sequence = next(iter(shapes))
        profile = self._sidecar.sequence
        if not profile.min <= sequence <= profile.max:
            raise BackendError(
                f"sequence length {sequence} is outside the engine's profile "
                f"{profile.min}..{profile.max}; set --max_seq_length to at most {profile.max} "
                "or rebuild the engine with a wider --seq"
            )
        if 0 < batch < self._sidecar.batch.min:
            raise BackendError(
                f"batch of {batch} is below the engine's minimum batch {self._sidecar.batch.min}"
            )
        return batch

    def _run(self, chunk: Mapping[str, np.ndarray]) -> np.ndarray:
        for name, array in chunk.items():
            buffers = self._inputs[name]
            data = np.ascontiguousarray(array, dtype=buffers.dtype)
            buffers.host[: data.size] = data.reshape(-1)
            if not self._context.set_input_shape(name, data.shape):
                raise BackendError(f"TensorRT refused input shape {data.shape} for {name!r}")
            buffers.to_device(data.nbytes, self._stream)
        shapes = {name: tuple(self._context.get_tensor_shape(name)) for name in self._outputs}
        if not self._context.execute_async_v3(self._stream.handle):
            raise BackendError("TensorRT execute_async_v3 failed; see the TensorRT log above")
        for name, buffers in self._outputs.items():
            buffers.to_host(math.prod(shapes[name]) * buffers.dtype.itemsize, self._stream)
        self._stream.synchronize()
        name = self._sidecar.outputs[0].name
        count = math.prod(shapes[name])
        return self._outputs[name].host[:count].reshape(shapes[name]).astype(np.float32, copy=True)

    def close(self) -> None:
        """Free every buffer and the stream (idempotent)."""
        for buffers in [*self._inputs.values(), *self._outputs.values()]:
            buffers.close()
        self._inputs, self._outputs = {}, {}
        if self._stream is not None:
            self._stream.close()
            self._stream = None


class TensorRTBackend:
    """Serves a TensorRT engine with its sidecar (see the module docstring)."""

    def __init__(self, engine_path: str, sidecar: EngineSidecar, *, source: str | None = None):
        """`engine_path` is a local file whose SHA-256 matches the sidecar; `source`
        is where it came from (for messages; default `engine_path`)."""
        source = source or engine_path
        check_runtime(sidecar, source)
        from trt_text_classifier.backends.cuda_memory import CudaMemory

        trt = importlib.import_module(BUILDER_MODULES[sidecar.builder])
        self._sidecar = sidecar
        self._logger = trt.Logger(trt.Logger.WARNING)
        self._runtime = trt.Runtime(self._logger)
        with open(engine_path, "rb") as handle:
            self._engine = self._runtime.deserialize_cuda_engine(handle.read())
        if self._engine is None:
            raise BackendError(
                f"{source}: {sidecar.builder} could not deserialize the engine; rebuild it: "
                + sidecar.rebuild_command(source)
            )
        _check_engine_tensors(trt, self._engine, sidecar, source)
        self._context = self._engine.create_execution_context()
        self._runner = EngineRunner(self._context, sidecar, CudaMemory())
        self._finalizer = weakref.finalize(self, self._runner.close)

    @classmethod
    def from_path(cls, engine_path: str) -> TensorRTBackend:
        """Local or gs:// engine: read the sidecar, cache the file, verify its SHA-256."""
        from trt_text_classifier import model_files
        from trt_text_classifier.sidecar import read_sidecar

        sidecar = read_sidecar(engine_path)
        local = model_files.cache_file(engine_path)
        digest = sha256_of(local)
        if digest != sidecar.engine_sha256 and not model_files.is_local(engine_path):
            os.remove(local)
            local = model_files.cache_file(engine_path)
            digest = sha256_of(local)
        if digest != sidecar.engine_sha256:
            raise BackendError(
                f"{engine_path}: its SHA-256 differs from engine_sha256 in its sidecar; the engine "
                "or the sidecar was replaced after the build: copy both files from one build"
            )
        return cls(local, sidecar, source=engine_path)

    @property
    def sidecar(self) -> EngineSidecar:
        return self._sidecar

    @property
    def input_names(self) -> tuple[str, ...]:
        return self._sidecar.input_names

    @property
    def limits(self) -> BackendLimits:
        return self._runner.limits

    def infer(self, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        return self._runner.infer(inputs)

    def close(self) -> None:
        """Free buffers and stream, then the context, engine and runtime (in that order)."""
        self._finalizer()
        self._context = None
        self._engine = None
        self._runtime = None


def _check_engine_tensors(trt: Any, engine: Any, sidecar: EngineSidecar, source: str) -> None:
    """The deserialized engine must have the sidecar's tensors with the sidecar's dtypes."""
    found = {}
    for index in range(engine.num_io_tensors):
        name = engine.get_tensor_name(index)
        found[name] = np.dtype(trt.nptype(engine.get_tensor_dtype(name))).name
    expected = {spec.name: spec.dtype for spec in (*sidecar.inputs, *sidecar.outputs)}
    if found != expected:
        raise BackendError(
            f"{source}: the engine's tensors {found} differ from its sidecar's {expected}; "
            "copy the engine and its .plan.json from the same build"
        )
