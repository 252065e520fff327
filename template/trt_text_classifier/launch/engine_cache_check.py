"""At launch, for --engine_cache: is the cache writable, and does it hold the engine?

One line for `validate` and `launch --dry-run`:

    engine cache: hit: engine for NVIDIA L4, TensorRT 10.11.0.33, built 2026-... by WORKER
    engine cache: miss: no engine for NVIDIA L4 (compute capability 8.9), TensorRT 10.11.0.33,
        ...; the first worker will build it (ENTRY)

The key is the one the workers will compute: the ONNX file's SHA-256, the image's TensorRT
(`image_runtime.json`), the accelerator's CUDA device name and compute capability, and the
build settings from --max_batch_size / --max_seq_length. Both the write check and the
lookup run within the remote-check time limit (30 s).
"""

from __future__ import annotations

from trt_text_classifier import model_files
from trt_text_classifier.dataflow.accelerator import WorkerGpu
from trt_text_classifier.dataflow.gpu_catalog import cuda_device_name
from trt_text_classifier.dataflow.image_runtime import image_runtime
from trt_text_classifier.errors import ParameterError
from trt_text_classifier.launch.batch_size import effective_max_batch_size
from trt_text_classifier.launch.parameters import PipelineParameters
from trt_text_classifier.launch.remote_checks import with_time_limit
from trt_text_classifier.sidecar import Builder, GpuTarget, model_sha256


class ImageBuilder:
    """What the workers' builder will be: the image's full TensorRT (nothing is built here)."""

    def __init__(self, version: str | None = None, library: Builder = "tensorrt") -> None:
        self.library: Builder = library
        self.version = version or image_runtime().tensorrt


def check_engine_cache_writable(params: PipelineParameters) -> None:
    """One-line ParameterError when --engine_cache is missing or not writable."""
    location = params.engine_cache
    if location is None:
        return
    from trt_text_classifier.serving.engine_cache import EngineCache
    from trt_text_classifier.serving.engine_cache_store import EngineCacheError

    def check() -> None:
        try:
            EngineCache(location).check_writable()
        except EngineCacheError as error:
            raise ParameterError(f"--engine_cache={location!r}: {error}") from None

    with_time_limit("engine_cache", location, check)


def engine_cache_line(
    params: PipelineParameters, worker: WorkerGpu | None, builder: ImageBuilder | None = None
) -> str | None:
    """`engine cache: hit: ...` or `engine cache: miss: ...`; None without --engine_cache."""
    location, onnx_path = params.engine_cache, params.onnx_path
    if location is None or onnx_path is None or worker is None:
        return None
    from trt_text_classifier.serving.engine_cache import EngineCache
    from trt_text_classifier.serving.engine_cache_entry import describe_entry
    from trt_text_classifier.serving.engine_cache_key import make_key, worker_build_settings

    check_engine_cache_writable(params)
    gpu = GpuTarget(cuda_device_name(worker.gpu), worker.gpu.compute_capability_text)
    settings = worker_build_settings(effective_max_batch_size(params), params.max_seq_length)
    image = builder or ImageBuilder()

    def lookup() -> str:
        digest = model_sha256(model_files.cache_file(onnx_path))
        key = make_key(digest, image, gpu, settings)
        record = EngineCache(location).lookup(key)
        if record is not None:
            return f"engine cache: hit: {describe_entry(record)} ({key.folder})"
        return (
            f"engine cache: miss: no engine for {gpu.device_name} (compute capability "
            f"{gpu.compute_capability}), {image.library} {image.version}, {settings.precision}, "
            f"batch {settings.batch.as_flag()}, seq {settings.sequence.as_flag()}; the first "
            f"worker will build it ({key.folder})"
        )

    return with_time_limit("engine_cache", location, lookup)
