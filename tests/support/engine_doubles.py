"""Test doubles for the TensorRT backend's host-side logic (no GPU, no TensorRT).

`FakeMemory` stands in for `cuda_memory.CudaMemory`: each "device" buffer is a
numpy byte array registered under a fake address, and copies record their
byte counts. `FakeContext` stands in for an IExecutionContext of a BERT
classifier: its logits are a function of the bytes that reached the device,
so a test sees exactly what was copied. Like TensorRT it refuses input shapes
outside the engine's optimization profile, and like `execute_async_v3` it lets
other threads run while it executes (the real call releases the GIL), so
concurrent callers interleave as they do on a worker.

`EngineDoubleBackend` is an `InferenceBackend` over a real `EngineRunner` with
these doubles, and `load_engine_double_classifier` a handler loader that pairs
it with the demo bundle's real tokenizer: a Beam pipeline then serves an
"engine" on a machine without a GPU.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from trt_text_classifier.backends.base import BackendLimits
from trt_text_classifier.backends.tensorrt_backend import EngineRunner
from trt_text_classifier.serving.classifier import TextClassifier
from trt_text_classifier.serving.tokenization import BatchTokenizer
from trt_text_classifier.sidecar import EngineSidecar, ProfileRange, TensorSpec


def make_sidecar(
    *,
    input_dtype: str = "int64",
    batch: tuple[int, int, int] = (1, 2, 4),
    sequence: tuple[int, int, int] = (1, 8, 16),
) -> EngineSidecar:
    names = ("input_ids", "attention_mask", "token_type_ids")
    return EngineSidecar(
        builder="tensorrt-rtx",
        builder_version="1.7.1.116",
        tensorrt_major=1,
        tensorrt_minor=7,
        compute_capabilities=("8.6", "8.9"),
        precision="fp16",
        batch=ProfileRange(min=batch[0], opt=batch[1], max=batch[2]),
        sequence=ProfileRange(min=sequence[0], opt=sequence[1], max=sequence[2]),
        inputs=tuple(TensorSpec(name=name, shape=(-1, -1), dtype=input_dtype) for name in names),
        outputs=(TensorSpec(name="logits", shape=(-1, 2), dtype="float32"),),
        labels=("negative", "positive"),
        tokenizer="model.plan.tokenizer",
        engine_sha256="0" * 64,
        onnx_sha256="1" * 64,
        onnx_path="bundle/model.onnx",
        workspace_mib=4096,
        built_at="2026-11-25T00:00:00+00:00",
        build_seconds=1.0,
    )


class FakeStream:
    handle = 1234

    def __init__(self) -> None:
        self.synchronized = 0
        self.closed = False

    def synchronize(self) -> None:
        self.synchronized += 1
        time.sleep(0)  # cudaStreamSynchronize releases the GIL too

    def close(self) -> None:
        self.closed = True


@dataclass
class FakeBuffers:
    dtype: np.dtype
    capacity: int
    device_ptr: int
    device: np.ndarray
    host: np.ndarray = field(init=False)
    copies: list[tuple[str, int]] = field(default_factory=list)
    closed: bool = False

    def __post_init__(self) -> None:
        self.host = np.zeros(self.capacity, dtype=self.dtype)

    def to_device(self, nbytes: int, stream: FakeStream) -> None:
        self.copies.append(("to_device", nbytes))
        self.device[:nbytes] = self.host.view(np.uint8)[:nbytes]

    def to_host(self, nbytes: int, stream: FakeStream) -> None:
        self.copies.append(("to_host", nbytes))
        self.host.view(np.uint8)[:nbytes] = self.device[:nbytes]

    def close(self) -> None:
        self.closed = True


class FakeMemory:
    def __init__(self) -> None:
        self.buffers: list[FakeBuffers] = []
        self.streams: list[FakeStream] = []

    def allocate(self, dtype: np.dtype, capacity: int) -> FakeBuffers:
        address = 0x1000 * (len(self.buffers) + 1)
        device = np.zeros(np.dtype(dtype).itemsize * capacity, dtype=np.uint8)
        buffers = FakeBuffers(np.dtype(dtype), capacity, address, device)
        self.buffers.append(buffers)
        return buffers

    def stream(self) -> FakeStream:
        self.streams.append(FakeStream())
        return self.streams[-1]

    def by_address(self, address: int) -> FakeBuffers:
        return next(item for item in self.buffers if item.device_ptr == address)


def expected_logits(input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
    """What FakeContext computes per row: ((sum of masked ids) mod 1000 / 100, real tokens).

    Both depend on every real token, neither on padding (mask 0), and the
    arg-max varies from record to record, so labels and scores catch mix-ups.
    """
    masked = (input_ids * attention_mask).sum(axis=1) % 1000 / 100
    return np.stack([masked, attention_mask.sum(axis=1)], axis=1).astype(np.float32)


class FakeContext:
    """An execution context of a classifier with logits = expected_logits(ids, mask).

    `set_input_shape` returns False outside `sidecar`'s profile, as TensorRT does.
    """

    def __init__(
        self,
        memory: FakeMemory,
        sidecar: EngineSidecar | None = None,
        *,
        execution_seconds: float = 0.0,
    ) -> None:
        """`execution_seconds`: how long an execution holds the (fake) GPU, GIL released."""
        self.memory = memory
        self.sidecar = sidecar
        self.execution_seconds = execution_seconds
        self.addresses: dict[str, int] = {}
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.shape_calls: list[tuple[str, tuple[int, ...]]] = []
        self.executions: list[int] = []
        self.fail_execution = False

    def set_tensor_address(self, name: str, address: int) -> bool:
        self.addresses[name] = address
        return True

    def set_input_shape(self, name: str, shape: tuple[int, ...]) -> bool:
        self.shape_calls.append((name, tuple(shape)))
        if self.sidecar is not None:
            profile = self.sidecar.batch, self.sidecar.sequence
            if not all(r.min <= size <= r.max for r, size in zip(profile, shape, strict=True)):
                return False
        self.shapes[name] = tuple(shape)
        return True

    def get_tensor_shape(self, name: str) -> tuple[int, ...]:
        return (self.shapes["input_ids"][0], 2)

    def _device_array(self, name: str, dtype: str) -> np.ndarray:
        buffers = self.memory.by_address(self.addresses[name])
        count = math.prod(self.shapes[name])
        return buffers.device.view(dtype)[:count].reshape(self.shapes[name])

    def execute_async_v3(self, stream_handle: int) -> bool:
        self.executions.append(stream_handle)
        if self.fail_execution:
            return False
        time.sleep(self.execution_seconds)  # the real call releases the GIL: others run
        dtype = self.memory.by_address(self.addresses["input_ids"]).dtype.name
        logits = expected_logits(
            self._device_array("input_ids", dtype), self._device_array("attention_mask", dtype)
        )
        output = self.memory.by_address(self.addresses["logits"])
        output.device[: logits.nbytes] = logits.reshape(-1).view(np.uint8)
        return True


class EngineDoubleBackend:
    """An `InferenceBackend`: a real `EngineRunner` over `FakeContext` and `FakeMemory`.

    Each execution takes 2 ms, GIL released, as a small BERT batch does on a GPU.
    """

    def __init__(self, sidecar: EngineSidecar) -> None:
        memory = FakeMemory()
        context = FakeContext(memory, sidecar, execution_seconds=0.002)
        self._runner = EngineRunner(context, sidecar, memory)
        self.input_names = sidecar.input_names

    @property
    def limits(self) -> BackendLimits:
        return self._runner.limits

    def infer(self, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        return self._runner.infer(inputs)

    def close(self) -> None:
        self._runner.close()


DOUBLE_ENGINE_PROFILE = {"batch": (2, 4, 8), "sequence": (8, 16, 64)}
"""The profile of the engine `load_engine_double_classifier` serves: both MINs above 1."""


def load_engine_double_classifier(
    model_path: str, tokenizer: str | None, max_seq_length: int
) -> TextClassifier:
    """A handler loader: the bundle's real tokenizer with an `EngineDoubleBackend`."""
    sidecar = make_sidecar(**DOUBLE_ENGINE_PROFILE)
    directory = tokenizer or os.path.dirname(model_path)
    batch_tokenizer = BatchTokenizer.from_pretrained(directory, max_seq_length=max_seq_length)
    return TextClassifier(
        batch_tokenizer, EngineDoubleBackend(sidecar), sidecar.labels, "engine double"
    )
