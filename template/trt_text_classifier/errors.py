"""The error every parameter check raises: the lowest layer, so any module can raise it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class ParameterError(ValueError):
    """A launch parameter is wrong. The message names it and says how to fix it."""


def summarize_validation_error(
    error: Exception, *, as_flag: bool = False, rephrase: Callable[[Any], str | None] | None = None
) -> str:
    """A pydantic `ValidationError` (many lines) as one: the first problem and where it is.

    By default: `LOCATION: message (and N more problems)`. With `as_flag`, the location is a
    command-line flag and its value (`--name='value': message`), for launch parameters; a
    message that names its flags itself is kept as it is. `rephrase` may give a clearer
    message for a problem (pydantic's error dict), or None to keep pydantic's.
    """
    problems = error.errors(include_url=False)  # type: ignore[attr-defined]
    first = problems[0]
    message = first["msg"].removeprefix("Value error, ")
    if rephrase is not None:
        message = rephrase(first) or message
    if as_flag:
        if not first["loc"] or message.startswith("--"):
            return message
        return f"--{first['loc'][0]}={first['input']!r}: {message}"
    location = ".".join(str(part) for part in first["loc"])
    more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
    return f"{location}: {message}{more}" if location else f"{message}{more}"


def one_line(
    error: BaseException, limit: int = 300, *, with_type: bool = True, last: bool = False
) -> str:
    """One line for an error: its first (or `last`) non-blank message line, shortened to `limit`.

    `with_type` puts the error's type in front (`OSError: ...`); an error without a message
    gives its type's name either way.
    """
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    line = (lines[-1] if last else lines[0]) if lines else ""
    if with_type or not line:
        line = f"{type(error).__name__}: {line}".rstrip(": ")
    return line if len(line) <= limit else line[: limit - 3] + "..."
