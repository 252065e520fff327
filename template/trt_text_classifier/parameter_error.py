"""The error every parameter check raises: the lowest layer, so any module can raise it."""

from __future__ import annotations


class ParameterError(ValueError):
    """A launch parameter is wrong. The message names it and says how to fix it."""
