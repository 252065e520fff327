"""What an engine cache hands out and reports: a verified engine, an entry's description, and its counts (also as Beam metrics where Beam runs)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from trt_text_classifier.records import METRICS_NAMESPACE
from trt_text_classifier.sidecar import (
    EngineSidecar,
)


@dataclass
class CacheMetrics:
    """What this cache object did; mirrored to Beam's Metrics where Beam is importable."""

    hits: int = 0
    builds: int = 0
    build_seconds: list[float] = field(default_factory=list)
    wait_seconds: list[float] = field(default_factory=list)
    bad_entries: int = 0
    takeovers: int = 0

    def count(self, name: str) -> None:
        setattr(self, name, getattr(self, name) + 1)
        _beam_metric("counter", f"engine_cache_{name}", 1)

    def seconds(self, name: str, value: float) -> None:
        getattr(self, name).append(value)
        # Beam distributions hold integers: milliseconds (engine_cache_build_ms, ..._wait_ms).
        metric = name.replace("_seconds", "_ms")
        _beam_metric("distribution", f"engine_cache_{metric}", round(value * 1000))


def _beam_metric(kind: str, name: str, value: int) -> None:
    try:
        from apache_beam.metrics import Metrics
    except ImportError:
        return
    if kind == "counter":
        Metrics.counter(METRICS_NAMESPACE, name).inc(value)
    else:
        Metrics.distribution(METRICS_NAMESPACE, name).update(value)


@dataclass(frozen=True)
class CachedEngine:
    """A verified engine on local disk, its sidecar beside it, and how it was obtained."""

    engine_path: str
    sidecar: EngineSidecar
    entry: str
    outcome: str
    """"built", "found" or "waited"."""
    entry_record: dict[str, Any]


@dataclass(frozen=True)
class EntryInfo:
    """One entry as `engine-cache list` prints it."""

    folder: str
    key: dict[str, Any]
    size: int
    built_at: str
    built_by: str

    def line(self) -> str:
        key = self.key
        return (
            f"{self.folder}  {key.get('gpu_name')} (compute capability "
            f"{key.get('compute_capability')})  {key.get('builder')} {key.get('builder_version')}"
            f"  {self.size / (1 << 20):.1f} MiB  built {self.built_at} by {self.built_by}"
        )


def describe_entry(record: dict[str, Any]) -> str:
    """`engine for NVIDIA L4, TensorRT 10.11.0.33, built 2026-...`."""
    key = record.get("key", {})
    library = "TensorRT-RTX" if key.get("builder") == "tensorrt-rtx" else "TensorRT"
    return (
        f"engine for {key.get('gpu_name')}, {library} {key.get('builder_version')}, "
        f"built {record.get('built_at')} by {record.get('built_by')}"
    )
