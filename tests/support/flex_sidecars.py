"""Engine sidecars for launch-check tests: real `EngineSidecar`s, no engine build needed."""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Any

from support.emulators import GcsEmulator
from trt_text_classifier.dataflow.image_runtime import image_runtime
from trt_text_classifier.sidecar import EngineSidecar, sidecar_path_for

IMAGE_TENSORRT = image_runtime().tensorrt
"""The TensorRT of the container image: an engine built there matches it exactly."""


def l4_sidecar(**changes: Any) -> EngineSidecar:
    """An engine built in the image (its TensorRT) for the L4 (8.9), batch up to 32, sequences up to 256."""
    fields: dict[str, Any] = {
        "builder": "tensorrt",
        "builder_version": IMAGE_TENSORRT,
        "tensorrt_major": int(IMAGE_TENSORRT.split(".")[0]),
        "tensorrt_minor": int(IMAGE_TENSORRT.split(".")[1]),
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


def upload_tokenizer(emulator: GcsEmulator, engine_name: str, bundle: Path) -> None:
    """The demo bundle's tokenizer where `l4_sidecar()` points: ENGINE_DIR/tokenizer/.

    The launch loads the tokenizer the workers will use.
    """
    directory = posixpath.join(posixpath.dirname(engine_name), "tokenizer")
    for path in bundle.iterdir():
        if path.name not in ("model.onnx", "bundle.json"):
            emulator.write(f"{directory}/{path.name}", path.read_bytes())
