"""Shared fixtures: the demo model is built once per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPOSITORY = Path(__file__).resolve().parent.parent
EXAMPLES = REPOSITORY / "examples"


@pytest.fixture(scope="session")
def demo_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo model directory: model.onnx, bundle.json, tokenizer files."""
    from trt_text_classifier.engine.demo_model import build_demo_model

    directory = tmp_path_factory.mktemp("demo-model")
    build_demo_model(str(directory))
    return directory


@pytest.fixture(scope="session")
def demo_onnx(demo_bundle: Path) -> str:
    return str(demo_bundle / "model.onnx")
