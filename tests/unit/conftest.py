"""Fixtures of the unit tests: files and bundles that are wrong in one way each."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

DEEP_JSON = "[" * 100_000 + "]" * 100_000


@pytest.fixture(scope="module")
def broken(demo_bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Bundles and files that are wrong in one way each."""
    root = tmp_path_factory.mktemp("broken")

    def bundle(name: str, change: Callable[[Path], None]) -> None:
        directory = root / name
        shutil.copytree(demo_bundle, directory)
        change(directory)

    def manifest_without_sha(directory: Path) -> None:
        manifest = json.loads((directory / "bundle.json").read_text())
        manifest.pop("onnx_sha256", None)
        (directory / "bundle.json").write_text(json.dumps(manifest))

    def not_onnx(directory: Path) -> None:
        (directory / "model.onnx").write_text("this is not a model\n")
        manifest_without_sha(directory)

    def truncated(directory: Path) -> None:
        data = (directory / "model.onnx").read_bytes()
        (directory / "model.onnx").write_bytes(data[: len(data) // 2])
        manifest_without_sha(directory)

    def float_inputs(directory: Path) -> None:
        import onnx

        model = onnx.load(str(directory / "model.onnx"))
        model.graph.input[0].type.tensor_type.elem_type = onnx.TensorProto.FLOAT
        onnx.save(model, str(directory / "model.onnx"))
        manifest_without_sha(directory)

    bundle("not-onnx", not_onnx)
    bundle("truncated", truncated)
    bundle("float-inputs", float_inputs)
    bundle("no-tokenizer", lambda d: [os.remove(d / n) for n in os.listdir(d) if "token" in n])
    bundle("corrupt-tokenizer", lambda d: (d / "tokenizer.json").write_text("{not json"))
    bundle(
        "no-pad-token",
        lambda d: (d / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 512})),
    )
    bundle("manifest-dir", lambda d: (os.remove(d / "bundle.json"), (d / "bundle.json").mkdir()))
    bundle("manifest-latin1", lambda d: (d / "bundle.json").write_bytes(b'{"labels": "\xe9"}'))
    bundle("manifest-deep", lambda d: (d / "bundle.json").write_text(DEEP_JSON))
    bundle("manifest-shape", lambda d: (d / "bundle.json").write_text('{"labels": 3}'))
    (root / "inputs").mkdir()
    (root / "inputs" / "sub").mkdir()
    (root / "inputs" / "a.txt").write_text("A warm film.\n")
    (root / "params-deep.json").write_text(DEEP_JSON)
    (root / "params-latin1.json").write_bytes(b'{"input": "caf\xe9"}')
    (root / "engine.plan").write_bytes(b"not an engine")
    (root / "engine.plan.json").write_text('{"precision": "fp16"}')
    for name, write in {
        "dir": lambda path: path.mkdir(),
        "latin1": lambda path: path.write_bytes(b'{"precision": "caf\xe9"}'),
        "deep": lambda path: path.write_text(DEEP_JSON),
    }.items():
        (root / f"engine-{name}.plan").write_bytes(b"not an engine")
        write(root / f"engine-{name}.plan.json")
    (root / "metadata-latin1.json").write_bytes(b'{"name": "caf\xe9"}')
    (root / "onnx-text.onnx").write_text("not onnx")
    return root
