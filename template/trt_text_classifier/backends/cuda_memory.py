"""Pinned host buffers, device buffers, a stream and async copies, with cuda-python 13.

Uses `cuda.bindings.runtime` (cuda-python 13 removed `from cuda import cuda`).
Every CUDA call's return code is checked: a failure raises `CudaError` naming
the call. Importable without Beam or TensorRT, so its GPU test runs anywhere
cuda-python and a GPU are.
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np

try:
    from cuda.bindings import runtime as cudart
except ImportError:  # the package's CPU-only installs have no cuda-python
    cudart = None


class CudaError(RuntimeError):
    """A CUDA runtime call failed (or cuda-python is missing)."""


def _runtime() -> Any:
    if cudart is None:
        raise CudaError(
            "cuda-bindings (cuda-python) is not installed; "
            "pip install 'trt-text-classifier[tensorrt]'"
        )
    return cudart


def check(result: tuple[Any, ...], call: str) -> Any:
    """Unpack a cuda-python result tuple `(error, *values)`; raise unless cudaSuccess."""
    error, *values = result
    if error != cudart.cudaError_t.cudaSuccess:
        _, name = cudart.cudaGetErrorName(error)
        _, text = cudart.cudaGetErrorString(error)
        raise CudaError(f"{call} failed: {name.decode()} ({text.decode()})")
    if not values:
        return None
    return values[0] if len(values) == 1 else tuple(values)


def device_count() -> int:
    return check(_runtime().cudaGetDeviceCount(), "cudaGetDeviceCount")


def device_compute_capability(device: int | None = None) -> str:
    """The compute capability of `device` (default: the current one) as "X.Y"."""
    rt = _runtime()
    if device is None:
        device = check(rt.cudaGetDevice(), "cudaGetDevice")
    attribute = rt.cudaDeviceAttr
    major = check(
        rt.cudaDeviceGetAttribute(attribute.cudaDevAttrComputeCapabilityMajor, device),
        "cudaDeviceGetAttribute",
    )
    minor = check(
        rt.cudaDeviceGetAttribute(attribute.cudaDevAttrComputeCapabilityMinor, device),
        "cudaDeviceGetAttribute",
    )
    return f"{major}.{minor}"


def memory_info() -> tuple[int, int]:
    """(free, total) bytes of the current device."""
    return check(_runtime().cudaMemGetInfo(), "cudaMemGetInfo")


class Stream:
    """A non-blocking CUDA stream; `handle` is what TensorRT's execute_async_v3 takes."""

    def __init__(self) -> None:
        rt = _runtime()
        self._stream = check(
            rt.cudaStreamCreateWithFlags(rt.cudaStreamNonBlocking), "cudaStreamCreateWithFlags"
        )

    @property
    def handle(self) -> int:
        return int(self._stream)

    @property
    def stream(self) -> Any:
        return self._stream

    def synchronize(self) -> None:
        check(cudart.cudaStreamSynchronize(self._stream), "cudaStreamSynchronize")

    def close(self) -> None:
        if self._stream is not None:
            check(cudart.cudaStreamDestroy(self._stream), "cudaStreamDestroy")
            self._stream = None


class TensorBuffers:
    """A pinned host buffer and a device buffer of `capacity` elements of `dtype`.

    `host` is a numpy view of the pinned memory: write a batch into its first
    elements, then copy exactly the batch's bytes with `to_device`.
    """

    def __init__(self, dtype: np.dtype, capacity: int) -> None:
        rt = _runtime()
        self.dtype = np.dtype(dtype)
        self.capacity = capacity
        self.nbytes = self.dtype.itemsize * capacity
        self._host_ptr = check(
            rt.cudaHostAlloc(self.nbytes, rt.cudaHostAllocDefault), "cudaHostAlloc"
        )
        try:
            self.device_ptr: int = check(rt.cudaMalloc(self.nbytes), "cudaMalloc")
        except CudaError:
            check(rt.cudaFreeHost(self._host_ptr), "cudaFreeHost")
            raise
        raw = (ctypes.c_byte * self.nbytes).from_address(self._host_ptr)
        self.host: np.ndarray = np.frombuffer(memoryview(raw), dtype=self.dtype, count=capacity)

    def to_device(self, nbytes: int, stream: Stream) -> None:
        self._copy(self.device_ptr, self._host_ptr, nbytes, "HostToDevice", stream)

    def to_host(self, nbytes: int, stream: Stream) -> None:
        self._copy(self._host_ptr, self.device_ptr, nbytes, "DeviceToHost", stream)

    def _copy(self, target: int, source: int, nbytes: int, direction: str, stream: Stream) -> None:
        if not 0 <= nbytes <= self.nbytes:
            raise ValueError(f"copy of {nbytes} bytes does not fit a buffer of {self.nbytes}")
        kind = getattr(cudart.cudaMemcpyKind, f"cudaMemcpy{direction}")
        check(
            cudart.cudaMemcpyAsync(target, source, nbytes, kind, stream.stream), "cudaMemcpyAsync"
        )

    def close(self) -> None:
        """Free both buffers; the numpy view must not be used afterwards."""
        if self.device_ptr:
            check(cudart.cudaFree(self.device_ptr), "cudaFree")
            self.device_ptr = 0
        if self._host_ptr:
            self.host = np.empty(0, dtype=self.dtype)
            check(cudart.cudaFreeHost(self._host_ptr), "cudaFreeHost")
            self._host_ptr = 0


class CudaMemory:
    """Allocates the backend's buffers and stream on the current CUDA device."""

    def allocate(self, dtype: np.dtype, capacity: int) -> TensorBuffers:
        return TensorBuffers(dtype, capacity)

    def stream(self) -> Stream:
        return Stream()
