"""Imports run one way: the parameter model sits below the Dataflow GPU catalog."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _modules_after_import(module: str) -> set[str]:
    code = (
        f"import sys, {module}\n"
        "print('\\n'.join(name for name in sys.modules if name.startswith('trt_text_classifier')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(done.stdout.split())


def test_parameters_never_import_the_gpu_catalog() -> None:
    # Validating an accelerator value must not pull the catalog in: params is below it.
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
    ["trt_text_classifier.launch.parameters", "trt_text_classifier.dataflow.accelerator_syntax"],
)
def test_lower_layers_import_nothing_from_dataflow(module: str) -> None:
    loaded = _modules_after_import(module)
    assert not {name for name in loaded if name.startswith("trt_text_classifier.dataflow")}


@pytest.mark.parametrize(
    "module",
    [
        "trt_text_classifier.launch.template_parameters",
        "trt_text_classifier.launch.gcloud_command",
        "trt_text_classifier.dataflow.engine_check",
        "trt_text_classifier.launch.metadata",
    ],
)
def test_dataflow_modules_import_neither_options_nor_the_layers_above(module: str) -> None:
    # options imports dataflow/, and preflight both (README "Inside the package"): never back.
    loaded = _modules_after_import(module)
    above = {"options", "preflight", "pipeline", "run", "handler", "commands"}
    assert not {name.split(".")[1] for name in loaded if name.count(".") >= 1} & above
