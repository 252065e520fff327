"""The pipeline's command line: argv -> `PipelineParameters` + Beam's own options."""

from __future__ import annotations

import argparse
import collections
from collections.abc import Sequence

from trt_text_classifier.errors import ParameterError
from trt_text_classifier.launch.parameters import PipelineParameters


def check_not_repeated(argv: Sequence[str]) -> None:
    """A parameter given twice would silently keep only its last value: refuse it."""
    counts = collections.Counter(arg[2:].split("=", 1)[0] for arg in argv if arg.startswith("--"))
    for name in PipelineParameters.model_fields:
        if counts[name] > 1:
            hint = (
                " (one file pattern per run: a wildcard such as gs://bucket/dir/*.txt reads "
                "several files)"
                if name == "input"
                else ""
            )
            raise ParameterError(f"--{name}: given {counts[name]} times; give it once{hint}")


def check_hyphenated(args: Sequence[str]) -> None:
    """`--onnx-path` for `--onnx_path`: otherwise reported as a parameter not given at all."""
    for arg in args:
        if not arg.startswith("--"):
            continue
        name = arg[2:].split("=", 1)[0]
        spelled = name.replace("-", "_")
        if "-" in name and spelled in PipelineParameters.model_fields:
            raise ParameterError(
                f"--{name}: unknown option; did you mean --{spelled}? (parameters are "
                "written with underscores)"
            )


def parse_pipeline_args(argv: Sequence[str]) -> tuple[PipelineParameters, list[str]]:
    """Split argv into the pipeline's parameters and Beam's own options.

    Uses `parse_known_args`: the Flex Template launcher appends flags of its
    own, and every Beam/Dataflow option must reach `PipelineOptions`.
    """
    check_not_repeated(argv)
    parser = argparse.ArgumentParser(allow_abbrev=False, add_help=False)
    for name, field in PipelineParameters.model_fields.items():
        parser.add_argument(f"--{name}", default=None, help=field.description)
    known, beam_args = parser.parse_known_args(list(argv))
    check_hyphenated(beam_args)
    return PipelineParameters.from_strings(vars(known)), beam_args
