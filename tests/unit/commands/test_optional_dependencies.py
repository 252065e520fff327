"""A command whose optional dependency is missing says, in one line, which extra installs it.

The dependency is made missing for real for the duration of a test: a `None`
entry in `sys.modules` makes Python's import system raise ModuleNotFoundError
for that module, exactly as when it is not installed.
"""

from __future__ import annotations

import pathlib
import sys

import pytest

from trt_text_classifier.commands import demo_model, export
from trt_text_classifier.commands.errors import EXIT_FAILED, report_errors


def block(monkeypatch: pytest.MonkeyPatch, *modules: str) -> None:
    """Make `modules` (and everything of ours that imported them) import as if not installed."""
    for name in list(sys.modules):
        if name.split(".")[0] in modules or name.startswith("trt_text_classifier.model_tooling"):
            monkeypatch.delitem(sys.modules, name)
    for module in modules:
        monkeypatch.setitem(sys.modules, module, None)


@pytest.mark.parametrize(
    ("module", "line"),
    [
        ("onnxconverter_common",
         "error: onnxconverter-common is not installed; pip install 'trt-text-classifier[tensorrt-rtx]'\n"),
        ("tensorrt_rtx",
         "error: tensorrt-rtx-cu12 is not installed; pip install 'trt-text-classifier[tensorrt-rtx]'\n"),
        ("cuda",
         "error: cuda-bindings (cuda-python) is not installed; pip install 'trt-text-classifier[tensorrt]'\n"),
        ("torch", "error: torch is not installed; pip install 'trt-text-classifier[export]'\n"),
    ],
)  # fmt: skip
def test_each_optional_dependency_names_its_package_and_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], module: str, line: str
) -> None:
    block(monkeypatch, module)

    def needs_it() -> int:
        __import__(f"{module}.bindings" if module == "cuda" else module)
        return 0

    assert report_errors(needs_it) == EXIT_FAILED
    assert capsys.readouterr().err == line


def test_other_missing_modules_are_not_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    block(monkeypatch, "no_such_module_anywhere")
    with pytest.raises(ModuleNotFoundError):
        report_errors(lambda: __import__("no_such_module_anywhere"))


@pytest.mark.parametrize("command", [export, demo_model])
def test_export_and_demo_model_without_torch(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: pathlib.Path,
    command: object,
) -> None:
    block(monkeypatch, "torch")
    argv = ["--output", str(tmp_path / "bundle")]
    if command is export:
        argv = ["--model", str(tmp_path / "hf"), *argv]
    assert command.main(argv) == EXIT_FAILED  # type: ignore[attr-defined]
    assert capsys.readouterr().err == (
        "error: torch is not installed; pip install 'trt-text-classifier[export]'\n"
    )


def test_build_engine_without_onnxconverter_common(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: pathlib.Path,
    demo_onnx: str,
) -> None:
    """The reported case: tensorrt_rtx installed, onnxconverter-common not; fp16 needs it."""
    pytest.importorskip("tensorrt_rtx")
    from trt_text_classifier import cli

    block(monkeypatch, "onnxconverter_common")
    engine = tmp_path / "e.plan"
    argv = ["build-engine", "--builder", "tensorrt-rtx", "--onnx", demo_onnx]
    assert cli.main([*argv, "--output", str(engine)]) == EXIT_FAILED
    assert capsys.readouterr().err == (
        "error: onnxconverter-common is not installed; "
        "pip install 'trt-text-classifier[tensorrt-rtx]'\n"
    )
    assert not engine.exists()
