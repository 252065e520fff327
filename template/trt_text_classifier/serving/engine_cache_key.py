"""What finds an engine cache entry: the key (everything that decides whether an engine is valid), its readable folder name, and the build settings workers use."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from trt_text_classifier.sidecar import (
    Builder,
    BuildSettings,
    EngineSidecar,
    GpuTarget,
    Precision,
    ProfileRange,
)

KEY_FORMAT = 1
"""Bumped when the key's meaning changes: old entries are then simply not found."""


class BuilderIdentity(Protocol):
    """The builder library and its exact version: part of the key."""

    @property
    def library(self) -> Builder: ...

    @property
    def version(self) -> str: ...


class EntryBuilder(BuilderIdentity, Protocol):
    """Builds one engine; injected (the model tooling's `CacheBuilder` in a pipeline)."""

    @property
    def has_timing_cache(self) -> bool: ...

    def build(
        self,
        onnx_path: str,
        engine_path: str,
        gpu: GpuTarget,
        settings: BuildSettings,
        timing_cache: str | None,
    ) -> EngineSidecar:
        """Build a local `onnx_path` (bundle beside it) into `engine_path` + its sidecar."""
        ...


@dataclass(frozen=True)
class CacheKey:
    """Everything that decides whether an engine is valid; equal keys share one entry."""

    onnx_sha256: str
    builder: Builder
    builder_version: str
    gpu_name: str
    compute_capability: str
    precision: Precision
    batch: str
    sequence: str
    workspace_mib: int
    key_format: int = KEY_FORMAT

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def digest(self) -> str:
        text = json.dumps(self.as_dict(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def folder(self) -> str:
        """Readable, unique: `3f2a9c1b7d0e-l4-sm89-tensorrt-rtx-1.7.0.10-fp16-b1.4.16-s8.32.64-w512-HASH`."""
        parts = [
            self.onnx_sha256[:12],
            _slug(re.sub(r"^NVIDIA\s+", "", self.gpu_name)),
            "sm" + self.compute_capability.replace(".", ""),
            self.builder,
            self.builder_version,
            self.precision,
            "b" + self.batch.replace(",", "."),
            "s" + self.sequence.replace(",", "."),
            f"w{self.workspace_mib}",
            self.digest[:8],
        ]
        return "-".join(_slug(part) for part in parts)


def make_key(
    onnx_sha256: str, builder: BuilderIdentity, gpu: GpuTarget, settings: BuildSettings
) -> CacheKey:
    return CacheKey(
        onnx_sha256=onnx_sha256,
        builder=builder.library,
        builder_version=builder.version,
        gpu_name=gpu.device_name,
        compute_capability=gpu.compute_capability,
        precision=settings.precision,
        batch=settings.batch.as_flag(),
        sequence=settings.sequence.as_flag(),
        workspace_mib=settings.workspace_mib,
    )


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9.]+", "-", text.lower()).strip("-")


WORKER_PRECISION: Precision = "fp16"
"""What workers build: fp16 (BERT's usual serving precision; T4 in TensorRT-RTX needs it)."""


WORKER_WORKSPACE_MIB = 4096


def worker_build_settings(max_batch_size: int, max_seq_length: int) -> BuildSettings:
    """The engine a job's workers build: its batches (1..max_batch_size, tuned at half) and
    its records (1..max_seq_length tokens, tuned at the maximum), fp16, 4 GiB workspace.
    The launch computes the same settings to say whether the cache holds the engine."""
    return BuildSettings(
        precision=WORKER_PRECISION,
        batch=ProfileRange(min=1, opt=max(1, max_batch_size // 2), max=max_batch_size),
        sequence=ProfileRange(min=1, opt=max_seq_length, max=max_seq_length),
        workspace_mib=WORKER_WORKSPACE_MIB,
    )
