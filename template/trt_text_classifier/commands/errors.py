"""How commands report expected failures: one line on stderr, no traceback."""

from __future__ import annotations

import sys
from collections.abc import Callable

from trt_text_classifier.backends.base import BackendError
from trt_text_classifier.errors import ParameterError

EXIT_BAD_PARAMETER = 2
EXIT_FAILED = 1

OPTIONAL_PACKAGES = {
    "torch": ("torch", "export"),
    "onnxconverter_common": ("onnxconverter-common", "tensorrt-rtx"),
    "tensorrt_rtx": ("tensorrt-rtx-cu12", "tensorrt-rtx"),
    "tensorrt_rtx_bindings": ("tensorrt-rtx-cu12", "tensorrt-rtx"),
    "tensorrt_rtx_libs": ("tensorrt-rtx-cu12", "tensorrt-rtx"),
    "cuda": ("cuda-bindings (cuda-python)", "tensorrt"),
}
"""Top-level module -> (the package that provides it, setup.py's extra that installs it).
`tensorrt` itself is not on PyPI for this project: it comes with the container image."""


def missing_dependency(error: ModuleNotFoundError) -> str | None:
    """The one-line fix for an optional dependency that is not installed, else None."""
    top = (error.name or "").split(".")[0]
    if top == "tensorrt":
        return (
            "TensorRT (Python module tensorrt) is not installed here; run in the project's "
            "container image, or build with --builder tensorrt-rtx: "
            "pip install 'trt-text-classifier[tensorrt-rtx]'"
        )
    if top not in OPTIONAL_PACKAGES:
        return None
    package, extra = OPTIONAL_PACKAGES[top]
    return f"{package} is not installed; pip install 'trt-text-classifier[{extra}]'"


def report_errors(action: Callable[[], int]) -> int:
    """Run `action`; turn the project's own errors into a one-line message and exit status."""
    from trt_text_classifier.run import PipelineFailedError  # imports Beam: only when running

    try:
        return action()
    except ParameterError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_PARAMETER
    except (BackendError, PipelineFailedError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    except ModuleNotFoundError as error:
        message = missing_dependency(error)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return EXIT_FAILED
