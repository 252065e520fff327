"""Test doubles for the TensorRT backend's host-side logic (no GPU, no TensorRT).

`FakeMemory` stands in for `cuda_memory.CudaMemory`: each "device" buffer is a
numpy byte array registered under a fake address, and copies record their
byte counts. `FakeContext` stands in for an IExecutionContext of a BERT
classifier: its logits are a function of the bytes that reached the device,
so a test sees exactly what was copied.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

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
    """What FakeContext computes: (sum of masked ids, number of real tokens) per row."""
    masked = (input_ids * attention_mask).sum(axis=1)
    return np.stack([masked, attention_mask.sum(axis=1)], axis=1).astype(np.float32)


class FakeContext:
    """An execution context of a classifier with logits = expected_logits(ids, mask)."""

    def __init__(self, memory: FakeMemory) -> None:
        self.memory = memory
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
        dtype = self.memory.by_address(self.addresses["input_ids"]).dtype.name
        logits = expected_logits(
            self._device_array("input_ids", dtype), self._device_array("attention_mask", dtype)
        )
        output = self.memory.by_address(self.addresses["logits"])
        output.device[: logits.nbytes] = logits.reshape(-1).view(np.uint8)
        return True
