"""How commands report expected failures: one line on stderr, no traceback."""

from __future__ import annotations

import sys
from collections.abc import Callable

from trt_text_classifier.backends.base import BackendError
from trt_text_classifier.params import ParameterError

EXIT_BAD_PARAMETER = 2
EXIT_FAILED = 1


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
