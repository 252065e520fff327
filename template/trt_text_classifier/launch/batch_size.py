"""The largest batch a job sends to its model: `--max_batch_size`, or the default for the
device that serves it (`serving/batch_sizes.py`). The pipeline and the engine cache's launch
check both use it, so a worker and the launch agree on an engine's batch profile."""

from __future__ import annotations

from trt_text_classifier.launch.parameters import PipelineParameters
from trt_text_classifier.serving.batch_sizes import CPU_MAX_BATCH_SIZE, default_max_batch_size


def effective_max_batch_size(params: PipelineParameters) -> int:
    """`--max_batch_size`, or the default for the device that serves the model (`batch_sizes`)."""
    if params.max_batch_size is not None:
        return params.max_batch_size
    default = default_max_batch_size(
        on_gpu=serves_on_gpu(params),
        streaming=params.streaming,
        profile_max=engine_profile_max_batch(params.engine_path),
    )
    return max(default, params.min_batch_size)


def serves_on_gpu(params: PipelineParameters) -> bool:
    """TensorRT engines, jobs with an accelerator, and local ONNX jobs where CUDA is available."""
    if params.engine_path is not None or params.accelerator is not None:
        return True
    from trt_text_classifier.backends.onnxruntime_backend import choose_providers

    return choose_providers()[0] == "CUDAExecutionProvider"


def engine_profile_max_batch(engine_path: str | None) -> int | None:
    """The engine profile's maximum batch from its sidecar; None without an engine.

    An unreadable sidecar gives the CPU default: launch's checks name the missing file.
    """
    if engine_path is None:
        return None
    from trt_text_classifier.sidecar import read_sidecar

    try:
        return read_sidecar(engine_path).batch.max
    except Exception:
        return CPU_MAX_BATCH_SIZE
