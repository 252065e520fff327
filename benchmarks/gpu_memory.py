"""The TensorRT backend's CUDA memory layer on a GPU: pinned vs pageable host buffers.

    PYTHONPATH=template python benchmarks/gpu_memory.py --output benchmarks/results

Times what `TensorRTBackend` does around the engine for each batch, with the engine
itself left out (no TensorRT runtime here supports the test GPU, see the README):
- host-to-device: the three BERT inputs (int64) of a max-profile batch, one async copy
  each, then one stream synchronize;
- device-to-host: the batch's logits (float32), then one stream synchronize;
- a whole batch through the memory layer: stage the inputs into the pinned buffers,
  copy them in, copy the logits out, synchronize (`TensorBuffers`, as `EngineRunner._run`);
- bandwidth: 64 MiB each way.
Pageable means the same `cudaMemcpyAsync` from ordinary numpy memory, which CUDA must
stage through its own pinned buffer. Medians of 200 timed iterations after 20 warm-ups.
Writes gpu.md under --output.
"""

from __future__ import annotations

import argparse
import datetime
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from trt_text_classifier.backends import cuda_memory
from trt_text_classifier.model_tooling.engine_build import DEFAULT_BATCH, DEFAULT_SEQUENCE

ITERATIONS, WARMUP = 200, 20
INPUTS = 3
LABELS = 2
BANDWIDTH_BYTES = 64 * 2**20


def median_seconds(step: Callable[[], None]) -> float:
    samples = []
    for index in range(WARMUP + ITERATIONS):
        started = time.perf_counter()
        step()
        if index >= WARMUP:
            samples.append(time.perf_counter() - started)
    return float(np.median(samples))


class CopyBench:
    """Pinned and pageable host memory, and device memory, for copies of up to `nbytes`."""

    def __init__(self, nbytes: int, stream: cuda_memory.Stream) -> None:
        self.pinned = cuda_memory.TensorBuffers(np.dtype(np.uint8), nbytes)
        self.pageable = np.ones(nbytes, dtype=np.uint8)
        self.stream = stream

    def copy(self, nbytes: int, *, pinned: bool, to_device: bool, copies: int = 1) -> float:
        host = self.pinned.host.ctypes.data if pinned else self.pageable.ctypes.data
        device = self.pinned.device_ptr
        runtime = cuda_memory.cudart
        kind = runtime.cudaMemcpyKind
        direction = kind.cudaMemcpyHostToDevice if to_device else kind.cudaMemcpyDeviceToHost
        target, source = (device, host) if to_device else (host, device)

        def step() -> None:
            for _ in range(copies):
                cuda_memory.check(
                    runtime.cudaMemcpyAsync(target, source, nbytes, direction, self.stream.stream),
                    "cudaMemcpyAsync",
                )
            self.stream.synchronize()

        return median_seconds(step)

    def close(self) -> None:
        self.pinned.close()


def whole_batch_seconds(batch: int, sequence: int, stream: cuda_memory.Stream) -> float:
    """Stage + copy in three inputs, copy out the logits, synchronize: the backend's share."""
    inputs = [
        cuda_memory.TensorBuffers(np.dtype(np.int64), batch * sequence) for _ in range(INPUTS)
    ]
    logits = cuda_memory.TensorBuffers(np.dtype(np.float32), batch * LABELS)
    arrays = [np.ones((batch, sequence), dtype=np.int64) for _ in range(INPUTS)]

    def step() -> None:
        for buffers, array in zip(inputs, arrays, strict=True):
            buffers.host[: array.size] = array.reshape(-1)
            buffers.to_device(array.nbytes, stream)
        logits.to_host(logits.nbytes, stream)
        stream.synchronize()
        logits.host.reshape(batch, LABELS).astype(np.float32, copy=True)

    try:
        return median_seconds(step)
    finally:
        for buffers in [*inputs, logits]:
            buffers.close()


def gpu_name() -> str:
    runtime = cuda_memory.cudart
    properties = cuda_memory.check(runtime.cudaGetDeviceProperties(0), "cudaGetDeviceProperties")
    driver = cuda_memory.check(runtime.cudaDriverGetVersion(), "cudaDriverGetVersion")
    name = properties.name.decode().rstrip("\x00")
    return f"{name}, compute capability {cuda_memory.device_compute_capability()}, CUDA driver API {driver}"


def row(label: str, nbytes: int, pinned: float, pageable: float) -> str:
    return (
        f"| {label} | {nbytes:,} | {pinned * 1e6:.1f} | {pageable * 1e6:.1f} "
        f"| {nbytes / pinned / 1e9:.2f} | {nbytes / pageable / 1e9:.2f} |"
    )


def measure() -> list[str]:
    batch, sequence = DEFAULT_BATCH.max, DEFAULT_SEQUENCE.max
    input_bytes = batch * sequence * 8
    logit_bytes = batch * LABELS * 4
    stream = cuda_memory.Stream()
    bench = CopyBench(BANDWIDTH_BYTES, stream)
    try:
        cases = [
            (f"host→device: {INPUTS} inputs, batch {batch} x seq {sequence}, int64",
             INPUTS * input_bytes, dict(nbytes=input_bytes, to_device=True, copies=INPUTS)),
            (f"device→host: logits, batch {batch} x {LABELS}, float32",
             logit_bytes, dict(nbytes=logit_bytes, to_device=False)),
            ("host→device: 64 MiB", BANDWIDTH_BYTES, dict(nbytes=BANDWIDTH_BYTES, to_device=True)),
            ("device→host: 64 MiB", BANDWIDTH_BYTES, dict(nbytes=BANDWIDTH_BYTES, to_device=False)),
        ]  # fmt: skip
        rows = [
            row(label, total, bench.copy(**kwargs, pinned=True), bench.copy(**kwargs, pinned=False))
            for label, total, kwargs in cases
        ]
        whole = whole_batch_seconds(batch, sequence, stream)
    finally:
        bench.close()
        stream.close()
    return [
        "# GPU: the TensorRT backend's CUDA memory layer",
        "",
        f"- **date:** {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M UTC}",
        f"- **gpu:** {gpu_name()}",
        "- **reproduce:** `PYTHONPATH=template python benchmarks/gpu_memory.py` on a GPU machine",
        "",
        f"Max-profile batch of the default engine profile: batch {batch}, {sequence} tokens.",
        f"Medians of {ITERATIONS} iterations after {WARMUP} warm-ups; each iteration is the "
        "copies plus one stream synchronize.",
        "",
        "| copy | bytes | pinned µs | pageable µs | pinned GB/s | pageable GB/s |",
        "|---|---:|---:|---:|---:|---:|",
        *rows,
        "",
        f"A whole max-profile batch through the memory layer (stage {INPUTS} inputs into the "
        "pinned buffers, copy them in, copy the logits out, synchronize): "
        f"**{whole * 1e6:.1f} µs**, with the engine left out.",
        "",
        "Not measured: TensorRT engine execution. The TensorRT runtimes that pip offers here "
        "(TensorRT-RTX) do not run on the H100 (compute capability 9.0), and the NGC TensorRT "
        "image was not available on this machine; see the README's 'Build an engine'.",
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=str(Path(__file__).resolve().parent / "results"))
    args = parser.parse_args()
    text = "\n".join(measure())
    Path(args.output).mkdir(parents=True, exist_ok=True)
    (Path(args.output) / "gpu.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
