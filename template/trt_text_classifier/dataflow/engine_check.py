"""Launch-time check: can the engine run on the chosen GPU and the image's TensorRT?

Reads only the engine's JSON sidecar (`ENGINE.plan.json`), never the engine.
The sidecar's full model is `engine.sidecar.EngineSidecar` (TensorRT work);
this module reads just the fields the check needs, through `EngineLimits`, so
the check does not depend on the rest of the sidecar format.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, ValidationError

from trt_text_classifier import model_files
from trt_text_classifier.dataflow.gpu_catalog import GpuType
from trt_text_classifier.params import ParameterError, PipelineParameters

IMAGE_TENSORRT_MAJOR = 10
"""TensorRT major version of the container's NGC base image (container/Dockerfile)."""
IMAGE_RUNTIME = "tensorrt"
SIDECAR_SUFFIX = ".json"


class _Range(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    min: int
    opt: int
    max: int


class EngineLimits(BaseModel):
    """The sidecar fields the launch check reads; other fields are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    builder: str = IMAGE_RUNTIME
    tensorrt_major: int
    compute_capabilities: tuple[str, ...]
    batch: _Range
    sequence: _Range


def read_engine_limits(engine_path: str) -> EngineLimits:
    """Read `ENGINE.plan.json`; a missing or malformed sidecar names --engine_path."""
    path = engine_path + SIDECAR_SUFFIX
    if not model_files.exists(path):
        raise ParameterError(
            f"--engine_path={engine_path!r}: its sidecar {path} is missing; engines must be "
            "built with `trt-text-classifier build-engine`, which writes it beside the engine"
        )
    try:
        return EngineLimits.model_validate_json(model_files.read_text(path))
    except ValidationError as error:
        raise ParameterError(f"--engine_path={engine_path!r}: {path} is invalid: {error}") from None


def check_engine_fits(
    params: PipelineParameters, limits: EngineLimits, gpu: GpuType, tensorrt_major: int
) -> None:
    """Refuse an engine that cannot run on `gpu` with TensorRT `tensorrt_major`, or whose
    optimization profile is smaller than the batch and sequence limits asked for."""
    engine = params.engine_path
    if limits.builder != IMAGE_RUNTIME:
        raise ParameterError(
            f"--engine_path={engine!r}: built with {limits.builder}, but the workers run "
            f"{IMAGE_RUNTIME} {tensorrt_major}; rebuild it with build-engine --builder {IMAGE_RUNTIME}"
        )
    if limits.tensorrt_major != tensorrt_major:
        raise ParameterError(
            f"--engine_path={engine!r}: built with TensorRT {limits.tensorrt_major}, but the "
            f"container has TensorRT {tensorrt_major}; rebuild the engine with TensorRT "
            f"{tensorrt_major} (engines do not load across major versions)"
        )
    if gpu.compute_capability_text not in limits.compute_capabilities:
        raise ParameterError(
            f"--engine_path={engine!r}: built for compute capability "
            f"{', '.join(limits.compute_capabilities)}, but --accelerator {gpu.name} has "
            f"{gpu.compute_capability_text}; rebuild it with --compute-capability "
            f"{gpu.compute_capability_text} or choose a GPU it was built for"
        )
    if params.max_batch_size > limits.batch.max:
        raise ParameterError(
            f"--max_batch_size={params.max_batch_size}: above the engine's profile maximum of "
            f"{limits.batch.max}; use at most {limits.batch.max} or rebuild the engine"
        )
    if params.max_seq_length > limits.sequence.max:
        raise ParameterError(
            f"--max_seq_length={params.max_seq_length}: above the engine's profile maximum of "
            f"{limits.sequence.max} tokens; use at most {limits.sequence.max} or rebuild the engine"
        )


def container_tensorrt_major() -> int:
    """TensorRT's major version here when importable (in the image), else the image's."""
    try:
        import tensorrt
    except ImportError:
        return IMAGE_TENSORRT_MAJOR
    return int(tensorrt.__version__.split(".")[0])
