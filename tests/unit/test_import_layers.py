"""Imports run one way, as `.importlinter` says; these tests check what a process really loads.

`lint-imports` (in CI) reads the import statements; here a fresh interpreter imports a module
and reports every module of the package that came with it, lazy imports included.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from support.repository import REPOSITORY

ROOT = REPOSITORY


def _modules_after_import(module: str) -> set[str]:
    code = (
        f"import sys, {module}\n"
        "print('\\n'.join(name for name in sys.modules if name.startswith('trt_text_classifier')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(done.stdout.split())


def test_parameters_never_import_the_gpu_catalog() -> None:
    # Validating an accelerator value must not pull the catalog in: only its syntax is needed.
    code = (
        "import sys\n"
        "from trt_text_classifier.launch.parameters import PipelineParameters\n"
        "PipelineParameters.from_strings({'input': 'in.txt', 'output': 'out', "
        "'onnx_path': 'm.onnx', 'accelerator': 'type:nvidia-l4;count:1;install-nvidia-driver'})\n"
        "print('\\n'.join(sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(done.stdout.split())
    assert "trt_text_classifier.dataflow.gpu_catalog" not in loaded
    assert "trt_text_classifier.dataflow.accelerator" not in loaded


@pytest.mark.parametrize(
    "module",
    [
        "trt_text_classifier.serving.handler",
        "trt_text_classifier.serving.inference",
        "trt_text_classifier.io.text_files",
        "trt_text_classifier.io.pubsub",
        "trt_text_classifier.io.sinks",
        "trt_text_classifier.backends.tensorrt_backend",
    ],
)
def test_worker_modules_load_nothing_from_launch(module: str) -> None:
    # What a worker unpickles must not drag the launcher's parameter model and checks along.
    loaded = _modules_after_import(module)
    above = {"launch", "pipeline", "run", "commands", "model_tooling"}
    assert not {name.split(".")[1] for name in loaded if name.count(".") >= 1} & above


def test_the_import_contract_holds() -> None:
    done = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:]
    assert "0 broken" in done.stdout


def test_the_pipeline_loads_without_torch_and_beams_model_manager_stays_importable() -> None:
    # Beam's RunInference would import its ModelManager, and with it torch (installed here by
    # the export extra); the package defers it, and the real one still loads when asked for.
    pytest.importorskip("torch")
    code = (
        "import sys, trt_text_classifier.pipeline\n"
        "print('torch' in sys.modules)\n"
        "from apache_beam.ml.inference import base\n"
        "print(base.ModelManager)\n"
        "from apache_beam.ml.inference.model_manager import ModelManager\n"
        "print(ModelManager.__module__, 'torch' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split("\n")[:3] == [
        "False",
        "None",
        "apache_beam.ml.inference.model_manager True",
    ]
