"""TensorRT backend: serves an engine built by `build-engine`, described by its sidecar.

    TensorRTBackend.from_path(engine_path)   local or gs://
      read sidecar -> cache engine locally -> verify SHA-256 -> compare sidecar with
      this runtime (library, exact version, GPU compute capability) -> the library's
      own validity query where it has one (TensorRT-RTX) -> deserialize -> one
      execution context (None: BackendError with the free device memory), one
      stream, pinned + device buffers per tensor sized for the profile maximum
      (EngineRunner)

Per batch (`EngineRunner.infer`, one lock held for the whole call: Beam calls
one loaded model from several threads, and the context, stream and pinned
buffers serve one execution at a time): pad columns up to the profile's
sequence MIN (pad id, attention mask 0); split into near-equal chunks no
larger than the max batch; pad a chunk below the batch MIN with rows whose
logits are dropped; per chunk: cast to the engine's dtypes, write into the
pinned buffers, `set_input_shape`, async host-to-device copies of the chunk's
bytes, `execute_async_v3`, async device-to-host copies of the output's bytes,
one synchronize, copy the logits out.

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
import itertools
import math
import os
import threading
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from trt_text_classifier.backends.base import BackendError, BackendLimits
from trt_text_classifier.sidecar import (
    BUILDER_MODULES,
    Builder,
    EngineSidecar,
    ProfileRange,
    TensorSpec,
    sha256_of,
)

ATTENTION_MASK = "attention_mask"
"""The input whose 0s tell the model to ignore a position (padding)."""


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
    library: Builder
    version: str
    compute_capability: str


def probe_runtime(builder: Builder) -> RuntimeInfo:
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
        from trt_text_classifier.dataflow.image_runtime import driver_too_old_here

        raise EngineMismatchError(
            driver_too_old_here()
            or f"no usable NVIDIA GPU here ({error}); run TensorRT engines on a GPU worker "
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

    def __init__(
        self,
        context: Any,
        sidecar: EngineSidecar,
        memory: Memory,
        *,
        pad_values: Mapping[str, int] | None = None,
    ) -> None:
        """`pad_values`: what columns padded up to the sequence MIN hold, by input
        (default 0, BERT's [PAD] id; the attention mask is always 0 there, so the
        model ignores them whatever they hold)."""
        self._context = context
        self._sidecar = sidecar
        self._pad_values = dict(pad_values or {})
        self._lock = threading.Lock()
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
        """Logits of any batch: padded up to the profile's MINs, split above its max batch.

        Thread-safe: one lock is held for the whole call, because the context,
        the stream and the pinned buffers serve one execution at a time.
        """
        self._check_open()
        arrays = {name: np.asarray(inputs[name]) for name in self._inputs}
        batch, sequence = self._check_shapes(arrays)
        arrays = self._pad_columns(arrays, sequence)
        with self._lock:
            self._check_open()
            chunks = [
                self._run_padded({name: array[part] for name, array in arrays.items()})
                for part in chunk_slices(batch, self._sidecar.batch)
            ]
        if not chunks:
            labels = self._sidecar.outputs[0].shape[-1]
            return np.empty((0, labels), dtype=np.float32)
        return np.concatenate(chunks) if len(chunks) > 1 else chunks[0]

    def _check_open(self) -> None:
        if self._stream is None:
            raise BackendError("the TensorRT engine was closed; load the model again")

    def _check_shapes(self, arrays: Mapping[str, np.ndarray]) -> tuple[int, int]:
        """(batch, sequence), after checking the shapes against the profile's maximum."""
        shapes = {array.shape for array in arrays.values()}
        if len(shapes) != 1 or len(next(iter(shapes))) != 2:
            raise BackendError(f"inputs must share one (batch, sequence) shape, got {shapes}")
        batch, sequence = next(iter(shapes))
        profile = self._sidecar.sequence
        if sequence > profile.max:
            raise BackendError(
                f"sequence length {sequence} is above the engine's profile maximum of "
                f"{profile.max} tokens; set --max_seq_length to at most {profile.max} or "
                "rebuild the engine with a larger --seq MAX"
            )
        if batch and sequence < profile.min and ATTENTION_MASK not in arrays:
            raise BackendError(
                f"sequence length {sequence} is below the engine's profile minimum of "
                f"{profile.min} tokens and the engine has no {ATTENTION_MASK} input to pad it "
                f"with; rebuild the engine with --seq 1,{profile.opt},{profile.max}"
            )
        return batch, sequence

    def _pad_columns(self, arrays: dict[str, np.ndarray], sequence: int) -> dict[str, np.ndarray]:
        """Columns up to the sequence MIN: the pad id, and mask 0 so the model ignores them."""
        missing = self._sidecar.sequence.min - sequence
        if missing <= 0:
            return arrays
        return {
            name: np.pad(
                array,
                ((0, 0), (0, missing)),
                constant_values=0 if name == ATTENTION_MASK else self._pad_values.get(name, 0),
            )
            for name, array in arrays.items()
        }

    def _run_padded(self, chunk: Mapping[str, np.ndarray]) -> np.ndarray:
        """Rows up to the batch MIN (copies of the first row), whose logits are dropped."""
        rows = len(next(iter(chunk.values())))
        missing = self._sidecar.batch.min - rows
        if missing <= 0:
            return self._run(chunk)
        padded = {
            name: np.concatenate([array, array[:1].repeat(missing, 0)])
            for name, array in chunk.items()
        }
        return self._run(padded)[:rows]

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
        """Free every buffer and the stream and let the context go (idempotent; waits for a
        running `infer`). TensorRT frees a context's device memory with its last reference."""
        with self._lock:
            for buffers in [*self._inputs.values(), *self._outputs.values()]:
                buffers.close()
            self._inputs, self._outputs = {}, {}
            if self._stream is not None:
                self._stream.close()
                self._stream = None
            self._context = None


def chunk_slices(batch: int, profile: ProfileRange) -> list[slice]:
    """Rows of each execution: as few chunks as the max batch allows, of near-equal size.

    Equal sizes keep every chunk at or above MIN whenever the batch allows it
    (10 rows, profile 3..4: 4, 3, 3 rather than 4, 4, 2); a chunk still below
    MIN (a batch smaller than MIN) is padded with rows by the caller.
    """
    if batch == 0:
        return []
    count = -(-batch // profile.max)
    base, larger = divmod(batch, count)
    sizes = [base + 1] * larger + [base] * (count - larger)
    bounds = [0, *itertools.accumulate(sizes)]
    return [slice(low, high) for low, high in itertools.pairwise(bounds)]


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
            data = handle.read()
        check_engine_validity(trt, self._runtime, data, sidecar, source)
        self._engine = self._runtime.deserialize_cuda_engine(data)
        if self._engine is None:
            raise BackendError(
                f"{source}: {sidecar.builder} could not deserialize the engine; rebuild it: "
                + sidecar.rebuild_command(source)
            )
        _check_engine_tensors(trt, self._engine, sidecar, source)
        self._context = create_context(self._engine, source)
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


def check_engine_validity(
    trt: Any, runtime: Any, data: bytes, sidecar: EngineSidecar, source: str
) -> None:
    """The library's own verdict on the engine bytes, where it has one (TensorRT-RTX's
    `Runtime.get_engine_validity`; full TensorRT 10 has none: nothing to ask)."""
    query = getattr(runtime, "get_engine_validity", None)
    if query is None:
        return
    validity, diagnostics = query(data)
    if validity != trt.EngineValidity.INVALID:
        return
    reasons = [
        name
        for name, member in trt.EngineInvalidityDiagnostics.__members__.items()
        if int(diagnostics) & int(member)
    ]
    raise EngineMismatchError(
        f"{source}: {sidecar.builder} {trt.__version__} says the engine cannot run here "
        f"({', '.join(reasons) or 'no reason given'}); rebuild it where it will run: "
        + sidecar.rebuild_command(source)
    )


def _free_device_memory() -> int:
    from trt_text_classifier.backends.cuda_memory import memory_info

    return memory_info()[0]


def create_context(
    engine: Any, source: str, *, free_memory: Callable[[], int] = _free_device_memory
) -> Any:
    """The engine's execution context; TensorRT returns None when device memory is short."""
    context = engine.create_execution_context()
    if context is not None:
        return context
    raise BackendError(
        f"{source}: TensorRT could not create an execution context: the engine needs "
        f"{engine.device_memory_size_v2 >> 20} MiB of device memory and "
        f"{free_memory() >> 20} MiB are free; free GPU memory (one engine per GPU: load it "
        "once per worker) or build the engine with a smaller --batch/--seq MAX"
    )


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
