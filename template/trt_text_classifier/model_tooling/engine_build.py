"""Build a TensorRT engine from an ONNX model with the TensorRT Python builder API.

    bundle dir (model.onnx, bundle.json, tokenizer) -> [fp16 ONNX] -> parse -> one profile
    -> build -> NAME.plan + NAME.plan.json (sidecar) + NAME.plan.tokenizer/ (copy)

Two builder libraries, one code path; `BuilderLibrary` hides their differences:
- `tensorrt` (full TensorRT 10 or 11; the container's base image has 10.11): builds on
  and for the GPU it runs on (its compute capability goes into the sidecar);
- `tensorrt-rtx` (TensorRT for RTX, pip-installable): builds ahead of time on
  any machine, CPU only included, for the compute capabilities requested
  (default 8.0, 8.6, 8.9, 12.0; 7.5 for T4 must be asked for, and needs fp16).

Precision is expressed in the ONNX types (strongly typed network), which is
valid for TensorRT 10, TensorRT 11 and TensorRT-RTX: fp16 builds convert the
ONNX first (`precision.py`). bf16 uses TensorRT 10's BF16 builder flag on a
weakly typed network and is refused where the library has no such flag.

Only the `tensorrt-rtx` path has been executed here (no GPU build machine
with full TensorRT was available); the `tensorrt` path uses the same calls.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from types import ModuleType
from typing import Any, get_args

import numpy as np
from tokenizers import Tokenizer

from trt_text_classifier.backends.base import BackendError
from trt_text_classifier.bundle import MANIFEST_NAME, TOKENIZER_FILE, BundleManifest
from trt_text_classifier.model_tooling.precision import convert_to_float16
from trt_text_classifier.sidecar import (
    BUILDER_MODULES,
    Builder,
    BuildSettings,
    EngineSidecar,
    GpuTarget,
    Precision,
    ProfileRange,
    TensorSpec,
    sha256_of,
    write_sidecar,
)

PRECISIONS: tuple[Precision, ...] = get_args(Precision)

DEFAULT_BATCH = ProfileRange(min=1, opt=32, max=64)
"""Matches the pipeline's default --max_batch_size (64); OPT at a typical full batch."""
DEFAULT_SEQUENCE = ProfileRange(min=1, opt=128, max=128)
"""Matches the pipeline's default --max_seq_length (128)."""
DEFAULT_PRECISION: Precision = "fp16"
"""fp16: what BERT-base is served in on T4/L4/A100 (T4 supports nothing faster)."""
DEFAULT_WORKSPACE_MIB = 4096
"""Builder scratch memory: ample for BERT-base tactics, small beside a 16 GB T4."""
RTX_DEFAULT_TARGETS = ("8.0", "8.6", "8.9", "12.0")
"""TensorRT-RTX's documented default targets, set explicitly so the sidecar is exact."""

TOKENIZER_SUFFIX = ".tokenizer"
_NOT_TOKENIZER = (".onnx", ".onnx.data", ".plan", ".plan.json", MANIFEST_NAME)
_COMPUTE_CAPABILITY = re.compile(r"^\d{1,2}\.\d$")


class EngineBuildError(BackendError):
    """The engine cannot be built; the message says why and what to change."""


@dataclass(frozen=True)
class BuildRequest:
    """Everything build-engine was asked for; None means the library's or builder's default."""

    onnx_path: str
    engine_path: str
    builder: Builder | None = None
    precision: Precision = DEFAULT_PRECISION
    batch: ProfileRange = DEFAULT_BATCH
    sequence: ProfileRange = DEFAULT_SEQUENCE
    compute_capabilities: tuple[str, ...] | None = None
    timing_cache: str | None = None
    workspace_mib: int = DEFAULT_WORKSPACE_MIB


def available_builder() -> Builder:
    """The first importable builder library, `tensorrt` first."""
    for name, module in BUILDER_MODULES.items():
        try:
            importlib.import_module(module)
        except ImportError:
            continue
        return name
    raise EngineBuildError(
        "--builder: neither tensorrt nor tensorrt_rtx can be imported; install one, e.g. "
        "pip install 'trt-text-classifier[tensorrt-rtx]', or build inside the project's container"
    )


class BuilderLibrary:
    """The one place that knows how `tensorrt` and `tensorrt_rtx` differ."""

    def __init__(self, name: Builder) -> None:
        self.name = name
        try:
            self.trt: ModuleType = importlib.import_module(BUILDER_MODULES[name])
        except ImportError as error:
            raise EngineBuildError(
                f"--builder={name}: cannot import {BUILDER_MODULES[name]} ({error}); "
                f"install it with pip install 'trt-text-classifier[{name}]' or choose the other "
                "builder"
            ) from None
        self.version: str = self.trt.__version__
        major, minor = self.version.split(".")[:2]
        self.major, self.minor = int(major), int(minor)

    @property
    def is_rtx(self) -> bool:
        return self.name == "tensorrt-rtx"

    def network_flags(self, precision: Precision) -> int:
        """Strongly typed unless bf16 is requested through TensorRT 10's builder flag."""
        if precision == "bf16":
            if self.is_rtx or not hasattr(self.trt.BuilderFlag, "BF16"):
                raise EngineBuildError(
                    f"--precision=bf16: {self.name} {self.version} builds strongly typed networks "
                    "only and this project converts ONNX to fp16 only; use --precision fp16"
                )
            return 0
        return 1 << int(self.trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)

    def set_precision(self, config: Any, precision: Precision) -> None:
        if precision == "bf16":
            config.set_flag(self.trt.BuilderFlag.BF16)

    def set_targets(self, config: Any, requested: tuple[str, ...] | None) -> tuple[str, ...]:
        """Set the target compute capabilities; returns them as "X.Y" for the sidecar."""
        if not self.is_rtx:
            return (self._full_tensorrt_target(requested),)
        targets = requested or RTX_DEFAULT_TARGETS
        supported = {
            name.removeprefix("SM"): member
            for name, member in self.trt.ComputeCapability.__members__.items()
            if name.startswith("SM")
        }
        config.num_compute_capabilities = len(targets)
        for index, target in enumerate(targets):
            member = supported.get(target.replace(".", ""))
            if member is None:
                known = ", ".join(f"{key[:-1]}.{key[-1]}" for key in supported)
                raise EngineBuildError(
                    f"--compute-capability={target}: {self.name} {self.version} cannot build for "
                    f"it; it supports {known} (compute capability 9.0, H100, needs --builder "
                    "tensorrt on an H100)"
                )
            config.set_compute_capability(member, index)
        return tuple(targets)

    def _full_tensorrt_target(self, requested: tuple[str, ...] | None) -> str:
        from trt_text_classifier.backends.cuda_memory import CudaError, device_compute_capability

        try:
            present = device_compute_capability()
        except CudaError as error:
            raise EngineBuildError(
                f"--builder=tensorrt needs the target GPU on this machine ({error}); build on a "
                "GPU worker of the target type, or use --builder tensorrt-rtx"
            ) from None
        if requested and requested != (present,):
            raise EngineBuildError(
                f"--compute-capability={','.join(requested)}: --builder tensorrt builds for this "
                f"machine's GPU (compute capability {present}); build on the target GPU or use "
                "--builder tensorrt-rtx"
            )
        return present

    def load_timing_cache(self, config: Any, path: str | None) -> None:
        """Use the timing cache file when given (TensorRT-RTX has no timing cache: no-op)."""
        if path is None or self.is_rtx:
            return
        data = b""
        if os.path.exists(path):
            with open(path, "rb") as handle:
                data = handle.read()
        config.set_timing_cache(config.create_timing_cache(data), False)

    def save_timing_cache(self, config: Any, path: str | None) -> None:
        if path is None or self.is_rtx:
            return
        with open(path, "wb") as handle:
            handle.write(memoryview(config.get_timing_cache().serialize()))


def make_logger(trt: ModuleType) -> Any:
    """A TensorRT logger that keeps errors (for messages) and drops the rest."""

    class CollectingLogger(trt.ILogger):  # type: ignore[name-defined]
        def __init__(self) -> None:
            trt.ILogger.__init__(self)
            self.errors: list[str] = []

        def log(self, severity: Any, msg: str) -> None:
            if severity in (trt.ILogger.Severity.ERROR, trt.ILogger.Severity.INTERNAL_ERROR):
                self.errors.append(msg)

    return CollectingLogger()


def parse_targets(text: str) -> tuple[str, ...]:
    """ "7.5" or "8.0,8.6" -> ("7.5",) / ("8.0", "8.6"); ParameterError-style ValueError otherwise."""
    targets = tuple(item.strip() for item in text.split(",") if item.strip())
    bad = [item for item in targets if not _COMPUTE_CAPABILITY.match(item)]
    if not targets or bad:
        raise ValueError(f"expected X.Y[,X.Y...] such as 7.5 or 8.0,8.6, got {text!r}")
    return targets


def read_bundle(onnx_path: str) -> BundleManifest:
    manifest = os.path.join(os.path.dirname(onnx_path) or ".", MANIFEST_NAME)
    if not os.path.exists(onnx_path):
        raise EngineBuildError(f"--onnx={onnx_path}: no such file")
    if not os.path.exists(manifest):
        raise EngineBuildError(
            f"--onnx={onnx_path}: {manifest} is missing; build from a directory written by "
            "`trt-text-classifier export` or `demo-model` (labels and tokenizer come from it)"
        )
    with open(manifest, encoding="utf-8") as handle:
        return BundleManifest.model_validate_json(handle.read())


def parse_network(library: BuilderLibrary, network: Any, logger: Any, onnx_path: str) -> None:
    """Parse the ONNX into `network`; on failure, one line per error: node, operator, reason."""
    parser = library.trt.OnnxParser(network, logger)
    if parser.parse_from_file(onnx_path):
        return
    problems = []
    for index in range(parser.num_errors):
        error = parser.get_error(index)
        node = error.node_name() or f"#{error.node()}"
        problems.append(f"node {node!r} (operator {error.node_operator()}): {error.desc()}")
    raise EngineBuildError(
        f"--onnx={onnx_path}: {library.name} {library.version} cannot parse the model: "
        + "; ".join(problems or logger.errors or ["unknown parser error"])
    )


def tensor_specs(library: BuilderLibrary, network: Any) -> tuple[tuple[TensorSpec, ...], ...]:
    def spec(tensor: Any) -> TensorSpec:
        dtype = np.dtype(library.trt.nptype(tensor.dtype)).name
        return TensorSpec(name=tensor.name, shape=tuple(tensor.shape), dtype=dtype)

    inputs = tuple(spec(network.get_input(i)) for i in range(network.num_inputs))
    outputs = tuple(spec(network.get_output(i)) for i in range(network.num_outputs))
    return inputs, outputs


def add_profile(
    builder: Any, config: Any, inputs: tuple[TensorSpec, ...], request: BuildRequest
) -> None:
    """One optimization profile: every (batch, sequence) input gets the same ranges."""
    profile = builder.create_optimization_profile()
    batch, sequence = request.batch, request.sequence
    for spec in inputs:
        if len(spec.shape) != 2:
            raise EngineBuildError(
                f"--onnx={request.onnx_path}: input {spec.name!r} has shape {spec.shape}; "
                "expected (batch, sequence) like every BERT input"
            )
        profile.set_shape(
            spec.name,
            (batch.min, sequence.min),
            (batch.opt, sequence.opt),
            (batch.max, sequence.max),
        )
    config.add_optimization_profile(profile)


def explain_build_failure(errors: list[str], targets: tuple[str, ...]) -> str:
    detail = "; ".join(errors) or "the builder returned no engine"
    if "FP32 GEMM is not supported" in detail:
        return (
            f"compute capability {', '.join(targets)} (Turing, T4) runs no fp32 matrix products "
            f"in TensorRT-RTX; use --precision fp16 ({detail})"
        )
    return detail


def copy_tokenizer(onnx_path: str, engine_path: str) -> str:
    """Copy the bundle's tokenizer files beside the engine; returns the folder's name."""
    source = os.path.dirname(onnx_path) or "."
    name = os.path.basename(engine_path) + TOKENIZER_SUFFIX
    target = os.path.join(os.path.dirname(engine_path) or ".", name)
    os.makedirs(target, exist_ok=True)
    for entry in sorted(os.listdir(source)):
        path = os.path.join(source, entry)
        if os.path.isfile(path) and not entry.endswith(_NOT_TOKENIZER):
            shutil.copyfile(path, os.path.join(target, entry))
    return name


def tokenizer_vocabulary_size(directory: str) -> int | None:
    """Tokens of the fast tokenizer saved in `directory` (added tokens included), if it has one."""
    path = os.path.join(directory, TOKENIZER_FILE)
    if not os.path.isfile(path):
        return None
    return int(Tokenizer.from_file(path).get_vocab_size(with_added_tokens=True))


def build_engine(request: BuildRequest) -> EngineSidecar:
    """Build `request.engine_path` and write its sidecar and tokenizer copy beside it."""
    started = time.monotonic()
    manifest = read_bundle(request.onnx_path)
    if request.sequence.max > manifest.max_sequence_length:
        raise EngineBuildError(
            f"--seq={request.sequence.as_flag()}: MAX above the model's limit of "
            f"{manifest.max_sequence_length} tokens; use at most {manifest.max_sequence_length}"
        )
    library = BuilderLibrary(request.builder or available_builder())
    with tempfile.TemporaryDirectory(prefix="build-engine-") as scratch:
        onnx_for_build = request.onnx_path
        if request.precision == "fp16":
            onnx_for_build = os.path.join(scratch, "model.fp16.onnx")
            convert_to_float16(request.onnx_path, onnx_for_build)
        engine_bytes, targets, inputs, outputs = _build(library, request, onnx_for_build)
    with open(request.engine_path, "wb") as handle:
        handle.write(engine_bytes)
    tokenizer = copy_tokenizer(request.onnx_path, request.engine_path)
    tokenizer_directory = os.path.join(os.path.dirname(request.engine_path) or ".", tokenizer)
    sidecar = EngineSidecar(
        builder=library.name,
        builder_version=library.version,
        tensorrt_major=library.major,
        tensorrt_minor=library.minor,
        compute_capabilities=targets,
        precision=request.precision,
        batch=request.batch,
        sequence=request.sequence,
        inputs=inputs,
        outputs=outputs,
        labels=manifest.labels,
        problem_type=manifest.problem_type,
        tokenizer=tokenizer,
        tokenizer_vocabulary_size=tokenizer_vocabulary_size(tokenizer_directory),
        engine_sha256=sha256_of(request.engine_path),
        onnx_sha256=sha256_of(request.onnx_path),
        onnx_path=request.onnx_path,
        workspace_mib=request.workspace_mib,
        built_at=datetime.now(UTC).isoformat(timespec="seconds"),
        build_seconds=round(time.monotonic() - started, 3),
    )
    write_sidecar(request.engine_path, sidecar)
    return sidecar


def _build(
    library: BuilderLibrary, request: BuildRequest, onnx_path: str
) -> tuple[bytes, tuple[str, ...], tuple[TensorSpec, ...], tuple[TensorSpec, ...]]:
    """Parse, configure and build; returns (engine bytes, targets, inputs, outputs)."""
    logger = make_logger(library.trt)
    builder = library.trt.Builder(logger)
    network = builder.create_network(library.network_flags(request.precision))
    parse_network(library, network, logger, onnx_path)
    inputs, outputs = tensor_specs(library, network)
    config = builder.create_builder_config()
    config.set_memory_pool_limit(library.trt.MemoryPoolType.WORKSPACE, request.workspace_mib << 20)
    library.set_precision(config, request.precision)
    targets = library.set_targets(config, request.compute_capabilities)
    add_profile(builder, config, inputs, request)
    library.load_timing_cache(config, request.timing_cache)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise EngineBuildError(
            f"{library.name} {library.version} could not build {request.onnx_path} for "
            f"compute capability {', '.join(targets)}: {explain_build_failure(logger.errors, targets)}"
        )
    library.save_timing_cache(config, request.timing_cache)
    return bytes(memoryview(serialized)), targets, inputs, outputs


@dataclass(frozen=True)
class CacheBuilder:
    """The engine cache's builder (`serving.engine_cache.EntryBuilder`): builds for one GPU.

    The cache lives in serving, which never imports the model tooling; the pipeline and
    the build-engine command hand it this object. `tensorrt-rtx` builds for the declared
    GPU's compute capability on any machine; `tensorrt` only on that GPU itself.
    """

    builder: Builder | None = None

    @property
    def library(self) -> Builder:
        return self.builder or available_builder()

    @property
    def version(self) -> str:
        return BuilderLibrary(self.library).version

    @property
    def has_timing_cache(self) -> bool:
        return self.library != "tensorrt-rtx"

    def build(
        self,
        onnx_path: str,
        engine_path: str,
        gpu: GpuTarget,
        settings: BuildSettings,
        timing_cache: str | None,
    ) -> EngineSidecar:
        return build_engine(
            BuildRequest(
                onnx_path=onnx_path,
                engine_path=engine_path,
                builder=self.library,
                precision=settings.precision,
                batch=settings.batch,
                sequence=settings.sequence,
                compute_capabilities=(gpu.compute_capability,),
                timing_cache=timing_cache,
                workspace_mib=settings.workspace_mib,
            )
        )
