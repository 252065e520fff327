"""Batch sizes chosen per device when the job leaves `--max_batch_size` unset.

A CPU gains nothing from batches above 64 (`benchmarks/results/cpu.md`), and a streaming job
waits for its batches, so both keep 64. A GPU batch job gets larger, length-sorted batches:
on the H200 (ONNX Runtime CUDA, BERT-base shape) sorted batches of 256 ran 23% faster than
batches of 64 (`benchmarks/results/gpu-throughput.json`). A TensorRT engine serves at most
its optimization profile's maximum batch.
"""

from __future__ import annotations

CPU_MAX_BATCH_SIZE = 64
"""Default largest batch on a CPU and in streaming jobs."""
GPU_MAX_BATCH_SIZE = 256
"""Default largest batch of a batch job served on a GPU (capped by an engine's profile)."""
GPU_LENGTH_ORDER_BATCHES = 64
"""Batches' worth of records `OrderByLength` sorts together when batches are GPU-sized: more
batches per sorted window keep padding efficiency at or above 0.95 with batches of 256."""


def default_max_batch_size(*, on_gpu: bool, streaming: bool, profile_max: int | None) -> int:
    """The largest batch for a job that did not set one."""
    if streaming or not on_gpu:
        return CPU_MAX_BATCH_SIZE
    if profile_max is not None:
        return min(GPU_MAX_BATCH_SIZE, profile_max)
    return GPU_MAX_BATCH_SIZE


def length_order_batches(batch_size: int, cpu_batches: int) -> int:
    """Batches per `OrderByLength` window: `cpu_batches` up to CPU-sized batches, more above."""
    return cpu_batches if batch_size <= CPU_MAX_BATCH_SIZE else GPU_LENGTH_ORDER_BATCHES
