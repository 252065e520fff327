"""Does every engine fit on the GPU? Checked at launch for jobs that share a GPU through MPS.

With `use_nvidia_mps`, Dataflow runs one SDK process per vCPU and NVIDIA's
Multi-Process Service lets them share the GPU(s); each process deserializes its
own engine. One GPU then holds (processes / GPUs) engines, each with its
activation memory and a CUDA context. Without MPS one process per worker VM holds
the engine and serves it to every SDK process (`shared_backend`), so one engine per
GPU, which always fits when the engine was built for the GPU.

The estimate per process: the engine file's size (its weights), the builder's
workspace limit from the sidecar (an upper bound for activation memory), and
CONTEXT_MIB for the CUDA context and the runtime's own allocations.
"""

from __future__ import annotations

import math

from trt_text_classifier.dataflow.accelerator import WorkerGpu
from trt_text_classifier.dataflow.gpu_catalog import machine_vcpus
from trt_text_classifier.errors import ParameterError

CONTEXT_MIB = 512
MIB = 1 << 20


def engines_per_gpu(worker: WorkerGpu) -> int:
    """Engines on one GPU: one per SDK process (per vCPU) with MPS, one per worker VM without."""
    if not worker.accelerator.use_nvidia_mps:
        return 1
    vcpus = machine_vcpus(worker.machine_type) or 1
    return math.ceil(vcpus / worker.accelerator.count)


def check_engines_fit(worker: WorkerGpu, engine_bytes: int, workspace_mib: int) -> None:
    """Raise `ParameterError` when the engines of one GPU need more than its memory."""
    per_gpu = engines_per_gpu(worker)
    per_engine_mib = math.ceil(engine_bytes / MIB) + workspace_mib + CONTEXT_MIB
    need_mib = per_gpu * per_engine_mib
    have_mib = worker.gpu.memory_gib * 1024
    if need_mib <= have_mib:
        return
    fitting = max(have_mib // per_engine_mib, 0)
    if fitting == 0:  # not even one engine fits: fewer processes (or no MPS) cannot help
        raise ParameterError(
            f"--accelerator: one engine needs ~{per_engine_mib} MiB (engine, workspace, CUDA "
            f"context), more than a {worker.gpu.name} holds ({worker.gpu.memory_gib} GiB); "
            "pick a GPU type with more memory, or build the engine with a smaller workspace "
            "or batch size"
        )
    raise ParameterError(
        f"--accelerator: with use_nvidia_mps, {worker.machine_type} runs {per_gpu} SDK processes "
        f"per {worker.gpu.name} ({worker.gpu.memory_gib} GiB), each with its own engine "
        f"(~{per_engine_mib} MiB: engine, workspace, CUDA context): {need_mib} MiB needed; "
        f"drop use_nvidia_mps, or pick a machine type with at most {fitting} vCPUs per GPU"
    )


def engine_size(engine_path: str) -> int:
    """The engine file's size in bytes (metadata only; the engine is not read)."""
    from apache_beam.io.filesystems import FileSystems

    (metadata,) = FileSystems.match([engine_path])[0].metadata_list
    return metadata.size_in_bytes
