"""Launch-time check: can the engine run on the chosen GPU with the image's TensorRT?

Reads the engine's sidecar only (never the engine). The image holds two
runtimes: TensorRT from the NGC base image and TensorRT-RTX from
container/requirements.txt; an engine loads only in the library that built it,
at exactly the version that built it, on a GPU whose compute capability it was
built for.
"""

from __future__ import annotations

import importlib

from trt_text_classifier.dataflow.gpu_catalog import GpuType
from trt_text_classifier.dataflow.image_runtime import image_runtime
from trt_text_classifier.errors import ParameterError
from trt_text_classifier.sidecar import BUILDER_MODULES, Builder, EngineSidecar

IMAGE_RUNTIME_VERSIONS: dict[Builder, str] = {
    "tensorrt": image_runtime().tensorrt,
    "tensorrt-rtx": "1.7.1.116",
}
"""The image's runtimes: the base image's TensorRT (image_runtime.json) and setup.py's
tensorrt-rtx pin (tests keep both equal to their sources)."""


def image_runtime_version(library: Builder) -> str:
    """The library's version where it is importable (in the image), else the image's version."""
    try:
        return importlib.import_module(BUILDER_MODULES[library]).__version__
    except ImportError:
        return IMAGE_RUNTIME_VERSIONS[library]


def check_engine_runs_on(engine_path: str, sidecar: EngineSidecar, gpu: GpuType) -> None:
    """Refuse an engine the workers' GPU and runtime cannot deserialize."""
    mismatch = sidecar.runtime_mismatch(
        engine_path,
        library=sidecar.builder,
        version=image_runtime_version(sidecar.builder),
        compute_capability=gpu.compute_capability_text,
    )
    if mismatch:
        raise ParameterError(
            f"--engine_path={engine_path!r}: cannot run on --accelerator {gpu.name} in this "
            f"image: {mismatch}"
        )


def check_one_gpu_per_worker(engine_path: str, gpu_count: int) -> None:
    """Refuse engines on workers with several GPUs: all but one would sit idle.

    The engine is one model per worker VM (shared across its SDK processes)
    and its runner executes on the current CUDA device, GPU 0. Serving one
    engine per GPU would need a runner per device, a device switch on every
    calling thread and a dispatcher across runners; for BERT-sized classifiers
    a worker is host-bound before one GPU is busy, so more workers of one GPU
    each give the throughput more simply.
    """
    if gpu_count > 1:
        raise ParameterError(
            f"--accelerator: count:{gpu_count} with --engine_path={engine_path!r}: a worker "
            "serves its engine on one GPU (one model per worker, shared by its SDK processes), "
            f"so {gpu_count - 1} of the {gpu_count} GPUs would sit idle; use count:1 and scale "
            "out with more workers (Dataflow's --max_num_workers)"
        )
