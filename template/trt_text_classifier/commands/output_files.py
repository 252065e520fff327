"""What a command may write: never one of its own inputs, never an existing file without --overwrite."""

from __future__ import annotations

import os
from collections.abc import Iterable

from trt_text_classifier.errors import ParameterError

BUNDLE_FILES = (
    "model.onnx",
    "bundle.json",
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
)
"""What export and demo-model write into --output (the tokenizer may add a few more)."""
OVERWRITE_HELP = (
    "replace files that already exist where the output goes (never the command's inputs)"
)


def same_file(first: str, second: str) -> bool:
    if os.path.exists(first) and os.path.exists(second):
        return os.path.samefile(first, second)
    return os.path.realpath(first) == os.path.realpath(second)


def check_outputs(
    flag: str,
    value: str,
    outputs: Iterable[str],
    inputs: dict[str, str],
    *,
    overwrite: bool,
) -> None:
    """Refuse `outputs` (files or folders `flag=value` will write) that are inputs or exist.

    `inputs` maps each input file to the flag (or description) it comes from. An input
    is never written over, even with --overwrite: the command would destroy what it reads.
    """
    outputs = list(outputs)
    for output in outputs:
        for source, named in inputs.items():
            if same_file(output, source):
                raise ParameterError(
                    f"{flag}={value!r}: would write over {output}, which is {named}; "
                    "write the output somewhere else"
                )
    if overwrite:
        return
    for output in outputs:
        if os.path.lexists(output):
            raise ParameterError(
                f"{flag}={value!r}: {output} already exists; choose another {flag}, or add "
                "--overwrite to replace it"
            )


def check_output_directory(
    value: str, names: Iterable[str], inputs: dict[str, str], *, overwrite: bool
) -> None:
    """`--output DIR` of a command that writes `names` into DIR (export, demo-model)."""
    if os.path.exists(value) and not os.path.isdir(value):
        raise ParameterError(
            f"--output={value!r}: is a file, not a directory; give a new or empty directory"
        )
    outputs = [os.path.join(value, name) for name in names]
    for source, named in inputs.items():
        if same_file(value, source):
            raise ParameterError(f"--output={value!r}: is {named}; write the bundle somewhere else")
    check_outputs("--output", value, outputs, inputs, overwrite=overwrite)
