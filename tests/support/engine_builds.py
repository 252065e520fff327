"""build-engine as the tests call it: the CPU builder, in this process."""

from __future__ import annotations


def build_engine(*args: str) -> int:
    """`trt-text-classifier build-engine --builder tensorrt-rtx ARGS`; its exit status."""
    from trt_text_classifier import cli

    return cli.main(["build-engine", "--builder", "tensorrt-rtx", *args])
