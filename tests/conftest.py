"""Shared fixtures: the demo model is built once per test session.

The emulator fixtures (GCS, Pub/Sub) live in tests/support/emulators.py, loaded as a plugin.
Helpers that tests import are in tests/support/ (the package `support`: tests/ is on
the import path, see pyproject.toml).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from support.engine_builds import build_engine
from support.tiny_models import TinyBundle, export_tiny_model

pytest_plugins = ["support.emulators"]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def demo_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo model directory: model.onnx, bundle.json, tokenizer files."""
    from trt_text_classifier.model_tooling.demo_model import build_demo_model

    directory = tmp_path_factory.mktemp("demo-model")
    build_demo_model(str(directory))
    return directory


@pytest.fixture(scope="session")
def demo_onnx(demo_bundle: Path) -> str:
    return str(demo_bundle / "model.onnx")


@pytest.fixture(scope="session")
def demo_engines(demo_onnx: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Real TensorRT-RTX builds of the demo model: fp32 defaults, fp16 with a narrow profile, SM75."""
    directory = tmp_path_factory.mktemp("engines")
    built = {name: directory / f"demo-{name}.plan" for name in ("fp32", "fp16", "sm75")}
    assert (
        build_engine("--onnx", demo_onnx, "--output", str(built["fp32"]), "--precision", "fp32")
        == 0
    )
    assert (
        build_engine(
            "--onnx", demo_onnx, "--output", str(built["fp16"]), "--precision", "fp16",
            "--batch", "1,4,16", "--seq", "8,32,64", "--workspace-mib", "512",
            "--timing-cache", str(directory / "timing.cache"),
        )
        == 0
    )  # fmt: skip
    assert (
        build_engine(
            "--onnx", demo_onnx, "--output", str(built["sm75"]), "--compute-capability", "7.5"
        )
        == 0
    )
    return built


@pytest.fixture(scope="session")
def family_bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, TinyBundle]:
    """One exported tiny single-label classifier per encoder family (built once per session)."""
    from support.tiny_models import FAMILIES

    return {
        name: export_tiny_model(tmp_path_factory.mktemp(f"tiny-{name}"), name) for name in FAMILIES
    }


@pytest.fixture(scope="session")
def multi_label_bundle(tmp_path_factory: pytest.TempPathFactory) -> TinyBundle:
    """A tiny BERT whose config says problem_type: multi_label_classification."""
    from support.tiny_models import MULTI_LABELS

    return export_tiny_model(
        tmp_path_factory.mktemp("tiny-multi-label"),
        "bert",
        labels=MULTI_LABELS,
        problem_type="multi_label_classification",
    )
