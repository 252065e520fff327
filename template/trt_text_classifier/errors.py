"""The error every parameter check raises: the lowest layer, so any module can raise it."""

from __future__ import annotations


class ParameterError(ValueError):
    """A launch parameter is wrong. The message names it and says how to fix it."""


def summarize_validation_error(error: Exception) -> str:
    """A pydantic `ValidationError` (many lines) as one: the first problem, where, how many more."""
    problems = error.errors(include_url=False)  # type: ignore[attr-defined]
    first = problems[0]
    location = ".".join(str(part) for part in first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
    return f"{location}: {message}{more}" if location else f"{message}{more}"


def one_line(error: BaseException, limit: int = 300) -> str:
    """`TYPE: first non-blank line of the message`, shortened to `limit` characters."""
    line = _message_line(error)
    return _shorten(f"{type(error).__name__}: {line}" if line else type(error).__name__, limit)


def first_line(error: BaseException, limit: int = 300) -> str:
    """The first non-blank line of the message (else the type's name), shortened to `limit`."""
    return _shorten(_message_line(error) or type(error).__name__, limit)


def _message_line(error: BaseException) -> str:
    return next((line.strip() for line in str(error).splitlines() if line.strip()), "")


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
