"""Shared fixtures: the demo model is built once per test session.

The emulator fixtures (GCS, Pub/Sub) live in tests/emulators.py, loaded as a plugin.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from trt_text_classifier.model_tooling.export import ParityReport

pytest_plugins = ["emulators"]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPOSITORY = Path(__file__).resolve().parent.parent
EXAMPLES = REPOSITORY / "examples"


def run_python(*arguments: str) -> subprocess.CompletedProcess[str]:
    """This interpreter in a fresh process (what a user or the template launcher starts)."""
    return subprocess.run([sys.executable, *arguments], capture_output=True, text=True, check=False)


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


def build_engine(*args: str) -> int:
    """`trt-text-classifier build-engine --builder tensorrt-rtx ARGS`; its exit status."""
    from trt_text_classifier import cli

    return cli.main(["build-engine", "--builder", "tensorrt-rtx", *args])


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


@dataclass(frozen=True)
class TinyBundle:
    """A tiny model of one family: its save_pretrained directory, its exported bundle, the parity."""

    pretrained: Path
    bundle: Path
    parity: ParityReport

    @property
    def onnx(self) -> str:
        return str(self.bundle / "model.onnx")


def export_tiny_model(directory: Path, family: str, **options: object) -> TinyBundle:
    from tiny_models import FAMILIES, save_tiny_model
    from trt_text_classifier.model_tooling.export import export_bundle

    pretrained = save_tiny_model(FAMILIES[family], directory / "pretrained", **options)
    parity = export_bundle(str(pretrained), str(directory / "bundle"))
    return TinyBundle(pretrained, directory / "bundle", parity)


@pytest.fixture(scope="session")
def family_bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, TinyBundle]:
    """One exported tiny single-label classifier per encoder family (built once per session)."""
    from tiny_models import FAMILIES

    return {
        name: export_tiny_model(tmp_path_factory.mktemp(f"tiny-{name}"), name) for name in FAMILIES
    }


@pytest.fixture(scope="session")
def multi_label_bundle(tmp_path_factory: pytest.TempPathFactory) -> TinyBundle:
    """A tiny BERT whose config says problem_type: multi_label_classification."""
    from tiny_models import MULTI_LABELS

    return export_tiny_model(
        tmp_path_factory.mktemp("tiny-multi-label"),
        "bert",
        labels=MULTI_LABELS,
        problem_type="multi_label_classification",
    )
