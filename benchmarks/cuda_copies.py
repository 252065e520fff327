"""Host-to-device copy time: pinned (what the TensorRT backend uses) vs pageable host memory.

Run on a GPU machine: `PYTHONPATH=template python benchmarks/cuda_copies.py`.
Each size is copied 200 times after 20 warm-ups; one copy + one stream synchronize per
iteration, as the backend does per batch. Prints a table; not part of CI.
"""

from __future__ import annotations

import time

import numpy as np

from trt_text_classifier.backends import cuda_memory

SIZES = {
    "one BERT input, batch 64 x seq 128 int64": 64 * 128 * 8,
    "three BERT inputs, batch 64 x seq 128": 3 * 64 * 128 * 8,
    "12.6 MB": 12_600_000,
}
ITERATIONS, WARMUP = 200, 20


def time_copies(source: int, target: int, nbytes: int, stream: cuda_memory.Stream) -> float:
    """Median seconds of one async host-to-device copy followed by a synchronize."""
    runtime = cuda_memory.cudart
    kind = runtime.cudaMemcpyKind.cudaMemcpyHostToDevice
    samples = []
    for index in range(WARMUP + ITERATIONS):
        started = time.perf_counter()
        cuda_memory.check(
            runtime.cudaMemcpyAsync(target, source, nbytes, kind, stream.stream), "cudaMemcpyAsync"
        )
        stream.synchronize()
        if index >= WARMUP:
            samples.append(time.perf_counter() - started)
    return float(np.median(samples))


def main() -> None:
    stream = cuda_memory.Stream()
    print(f"GPU compute capability {cuda_memory.device_compute_capability()}")
    print(
        f"{'copy':<42} {'pinned us':>10} {'pageable us':>12} {'pinned GB/s':>12} {'pageable GB/s':>14}"
    )
    for label, nbytes in SIZES.items():
        pinned = cuda_memory.TensorBuffers(np.dtype(np.uint8), nbytes)
        pageable = np.ones(nbytes, dtype=np.uint8)
        fast = time_copies(pinned.host.ctypes.data, pinned.device_ptr, nbytes, stream)
        slow = time_copies(pageable.ctypes.data, pinned.device_ptr, nbytes, stream)
        print(
            f"{label:<42} {fast * 1e6:>10.1f} {slow * 1e6:>12.1f} "
            f"{nbytes / fast / 1e9:>12.1f} {nbytes / slow / 1e9:>14.1f}"
        )
        pinned.close()
    stream.close()


if __name__ == "__main__":
    main()
