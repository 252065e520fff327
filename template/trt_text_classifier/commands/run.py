"""`trt-text-classifier run`: run the pipeline (DirectRunner by default) and report counts."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from trt_text_classifier.commands.errors import report_errors

HELP = "run the pipeline: --input or --input_subscription, outputs, --onnx_path or --engine_path, [Beam options]"


def main(argv: Sequence[str]) -> int:
    if any(arg in ("-h", "--help") for arg in argv):
        print(parameter_help())
        return 0
    return report_errors(lambda: _run_and_report(argv))


def launch_template(argv: Sequence[str]) -> int:
    """The Flex Template entry: validate, submit, return without waiting for the job."""
    return report_errors(lambda: _submit(argv))


def _submit(argv: Sequence[str]) -> int:
    """Submit the job and return at once (the launcher must not wait for the job to end)."""
    from trt_text_classifier.run import run_pipeline

    run_pipeline(argv, wait=False)
    return 0


def _run_and_report(argv: Sequence[str]) -> int:
    from trt_text_classifier.run import describe, run_pipeline, summarize

    params, result = run_pipeline(argv, wait=True)
    print(describe(params, summarize(result)), file=sys.stdout)
    return 0


def parameter_help() -> str:
    from trt_text_classifier.launch.parameters import PipelineParameters

    lines = ["usage: trt-text-classifier run --name=value ... [Beam pipeline options]", ""]
    for name, field in PipelineParameters.model_fields.items():
        lines.append(f"  --{name}")
        example = field.examples[0] if field.examples else ""
        lines.append(f"      {field.description} Example: {example}")
    return "\n".join(lines)
