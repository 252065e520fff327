"""The CUDA memory layer for real on an NVIDIA GPU (skipped where none is present).

Runs without Beam and TensorRT: `PYTHONPATH=template python -m pytest -m gpu -s
tests/gpu/test_cuda_memory.py`. The 1,000-batch test drives `EngineRunner` with
real pinned/device buffers and a real stream; the "engine" is a device-to-device
copy enqueued on that stream (no TensorRT runtime here supports this GPU).
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from support.engine_doubles import make_sidecar
from trt_text_classifier.backends import cuda_memory
from trt_text_classifier.backends.tensorrt_backend import EngineRunner
from trt_text_classifier.sidecar import ProfileRange, TensorSpec

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def gpu() -> str:
    """The GPU's compute capability; skips the module where no GPU can be used."""
    try:
        if cuda_memory.device_count() < 1:
            pytest.skip("no NVIDIA GPU")
        return cuda_memory.device_compute_capability()
    except cuda_memory.CudaError as error:
        pytest.skip(f"no usable NVIDIA GPU: {error}")


def test_pinned_buffers_round_trip_through_the_device(gpu: str) -> None:
    stream = cuda_memory.Stream()
    buffers = cuda_memory.TensorBuffers(np.dtype(np.int64), 1024)
    data = np.arange(1024, dtype=np.int64) * 7
    buffers.host[:] = data
    buffers.to_device(data.nbytes, stream)
    buffers.host[:] = 0
    buffers.to_host(data.nbytes, stream)
    stream.synchronize()
    np.testing.assert_array_equal(buffers.host, data)
    buffers.close()
    stream.close()
    assert buffers.device_ptr == 0


def test_only_the_requested_bytes_move(gpu: str) -> None:
    stream = cuda_memory.Stream()
    buffers = cuda_memory.TensorBuffers(np.dtype(np.int32), 100)
    buffers.host[:] = 1
    buffers.to_device(400, stream)
    buffers.host[:] = 2
    buffers.to_device(10 * 4, stream)
    buffers.host[:] = 0
    buffers.to_host(400, stream)
    stream.synchronize()
    assert buffers.host.tolist() == [2] * 10 + [1] * 90
    with pytest.raises(ValueError, match="copy of 404 bytes does not fit a buffer of 400"):
        buffers.to_device(404, stream)
    buffers.close()
    stream.close()


def test_failed_cuda_calls_raise_with_the_call_name(gpu: str) -> None:
    with pytest.raises(cuda_memory.CudaError, match=r"^cudaHostAlloc failed: cudaError"):
        cuda_memory.TensorBuffers(np.dtype(np.float32), 1 << 42)


class DeviceEchoContext:
    """An execution context whose engine copies input x to output y on the device."""

    def __init__(self) -> None:
        self.addresses: dict[str, int] = {}
        self.shape: tuple[int, int] = (0, 0)

    def set_tensor_address(self, name: str, address: int) -> bool:
        self.addresses[name] = address
        return True

    def set_input_shape(self, name: str, shape: tuple[int, int]) -> bool:
        self.shape = tuple(shape)
        return True

    def get_tensor_shape(self, name: str) -> tuple[int, int]:
        return self.shape

    def execute_async_v3(self, stream_handle: int) -> bool:
        runtime = cuda_memory.cudart
        nbytes = self.shape[0] * self.shape[1] * 4
        kind = runtime.cudaMemcpyKind.cudaMemcpyDeviceToDevice
        cuda_memory.check(
            runtime.cudaMemcpyAsync(
                self.addresses["y"], self.addresses["x"], nbytes, kind, stream_handle
            ),
            "cudaMemcpyAsync",
        )
        return True


def echo_sidecar():
    return make_sidecar().model_copy(
        update={
            "batch": ProfileRange(min=1, opt=32, max=64),
            "sequence": ProfileRange(min=1, opt=64, max=128),
            "inputs": (TensorSpec(name="x", shape=(-1, -1), dtype="float32"),),
            "outputs": (TensorSpec(name="y", shape=(-1, -1), dtype="float32"),),
        }
    )


def run_batches(runner: EngineRunner, count: int) -> list[int]:
    """`count` batches of varying shape (some above the max batch: split); returns free memory."""
    rng = np.random.default_rng(0)
    free = []
    for index in range(count):
        batch, sequence = 1 + index % 100, 1 + (index * 7) % 128
        x = rng.standard_normal((batch, sequence), dtype=np.float32)
        np.testing.assert_array_equal(runner.infer({"x": x}), x)
        if index in (0, count - 1):
            free.append(cuda_memory.memory_info()[0])
    return free


def test_engine_runner_on_real_cuda_memory_leaks_nothing_over_1000_batches(gpu: str) -> None:
    warm = EngineRunner(DeviceEchoContext(), echo_sidecar(), cuda_memory.CudaMemory())
    run_batches(warm, 2)
    warm.close()
    free_before, total = cuda_memory.memory_info()
    runner = EngineRunner(DeviceEchoContext(), echo_sidecar(), cuda_memory.CudaMemory())
    free_allocated = cuda_memory.memory_info()[0]
    started = time.perf_counter()
    free_first, free_last = run_batches(runner, 1000)
    elapsed = time.perf_counter() - started
    runner.close()
    free_after = cuda_memory.memory_info()[0]
    print(
        f"\nGPU compute capability {gpu}; cudaMemGetInfo free bytes: before {free_before}, "
        f"allocated {free_allocated}, batch 1 {free_first}, batch 1000 {free_last}, "
        f"after close {free_after} (total {total}); 1000 batches in {elapsed:.3f} s "
        f"({elapsed / 1000 * 1e6:.0f} us per batch, checks included)"
    )
    assert free_first == free_last
    assert free_after == free_before
