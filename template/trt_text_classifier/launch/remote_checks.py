"""A time limit and a one-line message for launch checks that reach Google Cloud.

Reading gs:// paths or describing Pub/Sub resources goes through Beam and the
Google client libraries, which retry for minutes when there is no network or no
credentials (Beam's credential lookup alone retries for about 20 s, its Cloud
Storage listing for 120 s). `with_time_limit` runs such a check in a daemon thread and
gives up after REMOTE_CHECK_TIMEOUT_SECS with a `ParameterError` naming the
parameter and the likely cause; errors the libraries raise are turned into the
same kind of line. The thread is left to finish on its own: it holds no lock the
caller needs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from trt_text_classifier.errors import ParameterError, one_line

REMOTE_CHECK_TIMEOUT_SECS = 30.0
LOGIN = "`gcloud auth application-default login`"
T = TypeVar("T")


def with_time_limit(
    parameter: str,
    value: str,
    check: Callable[[], T],
    timeout: float = REMOTE_CHECK_TIMEOUT_SECS,
) -> T:
    """Run `check` (which reads `value` of `parameter`) within `timeout` seconds."""
    results: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            results.append(check())
        except BaseException as error:  # handed to the caller's thread below
            errors.append(error)

    thread = threading.Thread(target=target, name=f"remote-check-{parameter}", daemon=True)
    thread.start()
    thread.join(timeout)
    prefix = f"--{parameter}={value!r}"
    if thread.is_alive():
        raise ParameterError(
            f"{prefix}: no answer from Google Cloud within {timeout:g} s; likely no network or "
            f"no credentials (run {LOGIN}, check the bucket name); --verbose shows the retries"
        )
    if errors:
        raise _as_parameter_error(prefix, errors[0], _is_remote(value)) from None
    return results[0]


def _is_remote(value: str) -> bool:
    """gs://... paths and projects/... Pub/Sub names; local paths fail for local reasons."""
    return "://" in value or value.startswith("projects/")


def _as_parameter_error(prefix: str, error: BaseException, remote: bool) -> BaseException:
    """The library's error as one line naming its likely cause (anything else is re-raised)."""
    if isinstance(error, ParameterError):
        return error
    cause = one_line(error, limit=200, with_type=False)
    if not remote and isinstance(error, Exception):
        return ParameterError(f"{prefix}: cannot read it ({cause})")
    from google.api_core import exceptions as api
    from google.auth import exceptions as auth

    if isinstance(error, (auth.DefaultCredentialsError, auth.RefreshError)):
        return ParameterError(
            f"{prefix}: no Google Cloud credentials here; run {LOGIN} "
            "(or set GOOGLE_APPLICATION_CREDENTIALS)"
        )
    if isinstance(error, api.NotFound):
        return ParameterError(f"{prefix}: no such bucket or resource ({cause})")
    if isinstance(error, api.Forbidden):
        return ParameterError(f"{prefix}: permission denied for these credentials ({cause})")
    if isinstance(error, Exception):
        return ParameterError(
            f"{prefix}: cannot reach Google Cloud ({cause}); likely no network or "
            f"no credentials (run {LOGIN})"
        )
    return error
