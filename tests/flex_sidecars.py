"""Engine sidecars for launch-check tests: real `EngineSidecar`s, no engine build needed."""

from __future__ import annotations

from typing import Any

from emulators import GcsEmulator
from trt_text_classifier.sidecar import EngineSidecar, sidecar_path_for


def l4_sidecar(**changes: Any) -> EngineSidecar:
    """A TensorRT 10 engine for the L4 (8.9), batch up to 32, sequences up to 256."""
    fields: dict[str, Any] = {
        "builder": "tensorrt",
        "builder_version": "10.8.0.43",
        "tensorrt_major": 10,
        "tensorrt_minor": 8,
        "compute_capabilities": ("8.9",),
        "precision": "fp16",
        "batch": {"min": 1, "opt": 16, "max": 32},
        "sequence": {"min": 8, "opt": 128, "max": 256},
        "inputs": [{"name": "input_ids", "shape": [-1, -1], "dtype": "int64"}],
        "outputs": [{"name": "logits", "shape": [-1, 2], "dtype": "float32"}],
        "labels": ("negative", "positive"),
        "tokenizer": "tokenizer",
        "engine_sha256": "0" * 64,
        "onnx_sha256": "1" * 64,
        "onnx_path": "gs://my-bucket/models/sst2/model.onnx",
        "workspace_mib": 1024,
        "built_at": "2026-11-25T09:00:00Z",
        "build_seconds": 1.0,
    }
    return EngineSidecar.model_validate(fields | changes)


def upload_engine(emulator: GcsEmulator, name: str, sidecar: EngineSidecar | None) -> str:
    """A placeholder engine (launch checks never read it) and, if given, its sidecar.

    Returns the engine's gs:// path.
    """
    engine_path = emulator.write(name, b"not an engine: launch checks read only the sidecar")
    if sidecar is not None:
        emulator.write(sidecar_path_for(name), sidecar.model_dump_json().encode())
    return engine_path
