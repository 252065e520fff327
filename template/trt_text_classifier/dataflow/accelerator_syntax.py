"""Dataflow's accelerator syntax, without the GPU catalog.

The `accelerator` launch parameter uses Dataflow's own `worker_accelerator`
syntax, so what users read in Google's documentation works here unchanged:

    type:nvidia-l4;count:1;install-nvidia-driver

Optional trailing parts: a driver version (`install-nvidia-driver:latest`) and
`use_nvidia_mps`. This module sits below both the parameter model (which checks
the syntax) and `dataflow.accelerator` (which checks the value against the GPU
catalog), so neither imports the other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from trt_text_classifier.errors import ParameterError

ACCELERATOR_REGEX = (
    r"^type:[a-z0-9-]+;count:[1-9][0-9]?;install-nvidia-driver(:[a-z0-9.]+)?(;use_nvidia_mps)?$"
)
"""The whole value, as the Dataflow service matches it; `parse_accelerator` says which part is off."""
EXAMPLE = "type:nvidia-l4;count:1;install-nvidia-driver"
_TYPE = re.compile(r"^type:([a-z0-9-]+)$")
_COUNT = re.compile(r"^count:([0-9]+)$")


@dataclass(frozen=True)
class Accelerator:
    """A parsed `accelerator` value."""

    gpu_type: str
    count: int
    driver: str
    """The `install-nvidia-driver` part as written (with its version, if any)."""
    use_nvidia_mps: bool = False

    def service_option(self) -> str:
        """The value of Dataflow's `worker_accelerator` service option."""
        parts = [f"type:{self.gpu_type}", f"count:{self.count}", self.driver]
        if self.use_nvidia_mps:
            parts.append("use_nvidia_mps")
        return ";".join(parts)


LONGEST_SHOWN = 100
"""Longer values are shown cut, with their length: the message stays one readable line."""
LONGEST_NUMBER = 9
"""Digits a count or a driver version number may have (Python refuses to convert 4,300+)."""


def shown(value: str) -> str:
    """`value` quoted, cut when it is too long to read."""
    if len(value) <= LONGEST_SHOWN:
        return repr(value)
    return f"{value[:LONGEST_SHOWN]!r}... ({len(value):,} characters)"


def _syntax_error(value: str, problem: str) -> ParameterError:
    return ParameterError(f"--accelerator={shown(value)}: {problem}; write it as {EXAMPLE!r}")


def parse_accelerator(value: str) -> Accelerator:
    """Parse Dataflow's accelerator syntax; raise `ParameterError` naming the problem."""
    parts = value.split(";")
    type_match = _TYPE.match(parts[0])
    if not type_match:
        raise _syntax_error(value, "must start with type:GPU_TYPE")
    if len(parts) < 2 or not _COUNT.match(parts[1]):
        raise _syntax_error(value, "type must be followed by ;count:N")
    digits = parts[1].removeprefix("count:")
    if len(digits) > LONGEST_NUMBER:
        raise _syntax_error(
            value, f"count has {len(digits):,} digits; give the GPUs per worker, e.g. count:1"
        )
    count = int(digits)
    if count < 1:
        raise _syntax_error(value, "count must be at least 1")
    options = parts[2:]
    driver = next((part for part in options if part.startswith("install-nvidia-driver")), None)
    if driver is None:
        raise _syntax_error(
            value, "install-nvidia-driver is missing (without it the workers have no GPU driver)"
        )
    version = driver.partition(":")[2]
    if any(len(number) > LONGEST_NUMBER for number in re.findall(r"[0-9]+", version)):
        raise _syntax_error(
            value,
            f"the driver version after install-nvidia-driver: is {len(version):,} "
            "characters long; give a version such as 535.86, or latest",
        )
    if not re.fullmatch(ACCELERATOR_REGEX, value):
        raise _syntax_error(value, "unexpected or misplaced part")
    return Accelerator(type_match.group(1), count, driver, "use_nvidia_mps" in options)


def uses_nvidia_mps(value: str | None) -> bool:
    """Whether an `accelerator` value asks for NVIDIA's Multi-Process Service."""
    return value is not None and parse_accelerator(value).use_nvidia_mps
