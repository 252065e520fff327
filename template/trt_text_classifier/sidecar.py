"""The engine sidecar: `NAME.plan.json`, everything later checks need to know about `NAME.plan`.

`build-engine` writes it; the launch checks (`launch/preflight`), a streaming job's model
swap, the TensorRT backend and `verify-engine` read it. Nothing re-derives these facts from
the engine file. It is the contract between the model tooling (`model_tooling/`) and
serving (`serving/`, `backends/`), so it sits below both and imports only `bundle` (the labels
and problem type it shares with the model bundle) and `model_files` (to read it, lazily).

For the launch-time accelerator check use `EngineSidecar.supports_compute_capability`,
e.g. `sidecar.supports_compute_capability("7.5")` for an nvidia-tesla-t4 worker.
"""

from __future__ import annotations

import functools
import hashlib
import os
import posixpath
import re
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from trt_text_classifier.bundle import SINGLE_LABEL, ProblemType, distinct_labels

SIDECAR_SUFFIX = ".json"
FORMAT_VERSION = 1

Builder = Literal["tensorrt", "tensorrt-rtx"]
Precision = Literal["fp32", "fp16", "bf16"]

BUILDER_MODULES: dict[Builder, str] = {"tensorrt": "tensorrt", "tensorrt-rtx": "tensorrt_rtx"}
"""Builder name -> Python module; the runtime of the same module deserializes the engine."""

_FROZEN = ConfigDict(extra="forbid", frozen=True)


class ProfileRange(BaseModel):
    """One dimension of the optimization profile: the engine accepts MIN..MAX, tuned for OPT."""

    model_config = _FROZEN

    min: int = Field(ge=1)
    opt: int = Field(ge=1)
    max: int = Field(ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> ProfileRange:
        if not self.min <= self.opt <= self.max:
            raise ValueError(f"needs MIN <= OPT <= MAX, got {self.min},{self.opt},{self.max}")
        return self

    def as_flag(self) -> str:
        return f"{self.min},{self.opt},{self.max}"


class TensorSpec(BaseModel):
    """An engine input or output; -1 marks a dynamic dimension, dtype is a numpy name."""

    model_config = _FROZEN

    name: str
    shape: tuple[int, ...]
    dtype: str


class EngineSidecar(BaseModel):
    """What `build-engine` knows about an engine, written beside it as JSON."""

    model_config = _FROZEN

    format_version: int = FORMAT_VERSION
    builder: Builder
    """The library that built the engine; the same library must deserialize it."""
    builder_version: str
    """The builder's full version: engines load only in exactly this version (`runtime_mismatch`)."""
    tensorrt_major: int
    tensorrt_minor: int
    """The first two components of `builder_version`, for readers; no check uses them."""
    compute_capabilities: tuple[str, ...]
    """Targets as "X.Y": the GPU must have one of these compute capabilities."""
    precision: Precision
    batch: ProfileRange
    sequence: ProfileRange
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    labels: Annotated[tuple[str, ...], AfterValidator(distinct_labels)]
    problem_type: ProblemType = SINGLE_LABEL
    """From the bundle manifest: softmax (single-label) or a sigmoid per label (multi-label)."""
    tokenizer: str
    """Tokenizer directory, relative to the engine's directory (or absolute / gs://)."""
    tokenizer_vocabulary_size: int | None = None
    """Tokens of that tokenizer, added tokens included (None: built before it was recorded,
    or a tokenizer without tokenizer.json). Launch refuses a --tokenizer of another size."""
    engine_sha256: str
    onnx_sha256: str
    onnx_path: str
    """The ONNX file the engine was built from, as given to build-engine."""
    workspace_mib: int
    built_at: str
    build_seconds: float

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.inputs)

    def supports_compute_capability(self, compute_capability: str) -> bool:
        """True when a GPU of this compute capability ("X.Y") can run the engine."""
        return compute_capability in self.compute_capabilities

    def tokenizer_location(self, engine_path: str) -> str:
        """The tokenizer directory as a path that resolves where the engine does."""
        if self.tokenizer.startswith("gs://") or posixpath.isabs(self.tokenizer):
            return self.tokenizer
        return posixpath.join(posixpath.dirname(engine_path) or ".", self.tokenizer)

    def rebuild_command(self, engine_path: str, compute_capability: str | None = None) -> str:
        """The build-engine command that builds this engine again, optionally for another GPU."""
        targets = compute_capability or ",".join(self.compute_capabilities)
        return (
            f"trt-text-classifier build-engine --onnx {self.onnx_path} --output {engine_path} "
            f"--builder {self.builder} --precision {self.precision} "
            f"--batch {self.batch.as_flag()} --seq {self.sequence.as_flag()} "
            f"--compute-capability {targets}"
        )

    def runtime_mismatch(
        self,
        engine_path: str,
        *,
        library: Builder,
        version: str,
        compute_capability: str,
    ) -> str | None:
        """Why this runtime cannot deserialize the engine, or None when it can.

        `version` is the runtime library's version ("10.13.3.9"). It must be the
        builder's exact version: TensorRT engines load only on the TensorRT
        version that built them (this project builds no version-compatible
        engines), TensorRT-RTX engines are not compatible across releases. A
        shorter `version` ("10.13.3", where only that much is known) must match
        the builder's version on as many components.
        """
        built = (
            f"{engine_path} was built with {self.builder} {self.builder_version} for compute "
            f"capability {', '.join(self.compute_capabilities)}"
        )
        if library != self.builder:
            present = f"this worker has {library} {version}"
        elif not same_version(self.builder_version, version):
            present = (
                f"this worker has {library} {version} (an engine loads only on the exact "
                "version that built it)"
            )
        elif not self.supports_compute_capability(compute_capability):
            present = f"this GPU has compute capability {compute_capability}"
        else:
            return None
        rebuild = self.rebuild_command(engine_path, compute_capability)
        return f"{built}, but {present}; rebuild it where it will run: {rebuild}"


# --- what the engine cache builds for (shared by serving and the model tooling) ---


@dataclass(frozen=True)
class GpuTarget:
    """The GPU an engine is for: CUDA's device name and its compute capability "X.Y"."""

    device_name: str
    compute_capability: str

    @property
    def short_name(self) -> str:
        """`NVIDIA L4` -> `L4`, for log lines."""
        return re.sub(r"^NVIDIA\s+", "", self.device_name).strip() or self.device_name

    @property
    def slug(self) -> str:
        return re.sub(r"[^a-z0-9.]+", "-", self.short_name.lower()).strip("-")


@dataclass(frozen=True)
class BuildSettings:
    """Every build setting that changes the engine, besides the model, builder and GPU."""

    precision: Precision
    batch: ProfileRange
    sequence: ProfileRange
    workspace_mib: int


def same_version(built: str, present: str) -> bool:
    """True when `present` ("10.13.3.9", or "10.13.3" where only that much is known) is `built`."""
    known = present.split(".")
    return built.split(".")[: len(known)] == known


def sidecar_path_for(engine_path: str) -> str:
    """`NAME.plan` -> `NAME.plan.json` (local path or gs://)."""
    return engine_path + SIDECAR_SUFFIX


def read_sidecar(engine_path: str) -> EngineSidecar:
    """Read the sidecar beside an engine, local or gs:// (through Beam's FileSystems)."""
    from trt_text_classifier import model_files

    return EngineSidecar.model_validate_json(model_files.read_text(sidecar_path_for(engine_path)))


def write_sidecar(engine_path: str, sidecar: EngineSidecar) -> str:
    """Write the sidecar beside a local engine file; returns its path."""
    path = sidecar_path_for(engine_path)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(sidecar.model_dump_json(indent=2) + "\n")
    return path


def sha256_of(path: str) -> str:
    """SHA-256 of a local file, read in 8 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(8 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_sha256(path: str) -> str:
    """`sha256_of` a local model file, remembered in this process per version of the file.

    A local run checks the model's SHA-256 at launch and again when its worker loads the
    model, in the same process: the second read of a 440 MB BERT-base (0.5 s on 2 cores) is
    saved. A version is the file's device, inode, size and modification time in
    nanoseconds: a replaced or rewritten file is hashed again. Integrity checks of copies
    (engines, cache entries) use `sha256_of`, which always reads.
    """
    status = os.stat(path)
    version = (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns)
    return _sha256_of_version(os.path.realpath(path), version)


@functools.lru_cache(maxsize=8)
def _sha256_of_version(path: str, version: tuple[int, int, int, int]) -> str:
    return sha256_of(path)
