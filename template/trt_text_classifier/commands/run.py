"""`trt-text-classifier run`: run the pipeline (DirectRunner by default) and report counts."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator, Sequence
from pathlib import Path

from trt_text_classifier.commands.errors import report_errors

HELP = "run the pipeline: --input or --input_subscription, outputs, --onnx_path or --engine_path, [Beam options]"


def main(argv: Sequence[str]) -> int:
    if "--help-beam" in argv:
        print(beam_option_help())
        return 0
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


LOG_DIRECTORY = Path(tempfile.gettempdir()) / "trt-text-classifier"
"""Where a run keeps Beam's log and the traceback of a failure (one file per run)."""


def log_path() -> Path:
    return LOG_DIRECTORY / f"run-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"


class _NotBeamErrors(logging.Filter):
    """Keeps Beam's errors and tracebacks off the terminal: they are in the run's log file."""

    def filter(self, record: logging.LogRecord) -> bool:
        from_beam = record.name.startswith("apache_beam")
        return not (from_beam and (record.exc_info or record.levelno >= logging.ERROR))


@contextlib.contextmanager
def run_log(path: Path) -> Iterator[None]:
    """While a run lasts, everything logged also goes to `path` (created on the first
    record), and Beam's errors and tracebacks go only there."""
    path.parent.mkdir(parents=True, exist_ok=True)
    to_file = logging.FileHandler(path, delay=True, encoding="utf-8")
    to_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    terminal = list(root.handlers)
    added: logging.Handler | None = None
    if not terminal:  # what Python's last-resort handler would have printed
        added = logging.StreamHandler(sys.stderr)
        added.setLevel(logging.WARNING)
        terminal = [added]
        root.addHandler(added)
    quiet = _NotBeamErrors()
    for handler in terminal:
        handler.addFilter(quiet)
    root.addHandler(to_file)
    try:
        yield
    finally:
        root.removeHandler(to_file)
        to_file.close()
        for handler in terminal:
            handler.removeFilter(quiet)
        if added is not None:
            root.removeHandler(added)


def _run_and_report(argv: Sequence[str]) -> int:
    from trt_text_classifier.run import PipelineFailedError

    path = log_path()
    with run_log(path):
        try:
            return _run_and_print(argv)
        except PipelineFailedError as error:
            cause = error.__cause__ or error
            with path.open("a", encoding="utf-8") as log:
                log.write("".join(traceback.format_exception(cause)))
            raise PipelineFailedError(f"{error} (traceback and Beam's log: {path})") from None


def _run_and_print(argv: Sequence[str]) -> int:
    from trt_text_classifier.launch.progress import Progress
    from trt_text_classifier.run import describe, run_pipeline, summarize

    progress = Progress()
    try:
        params, result = run_pipeline(argv, wait=True, progress=progress)
        print(describe(params, summarize(result)), file=sys.stdout)
        if progress.params is not None:  # a local run: it counted its results
            print(progress.summary(), file=sys.stdout)
    finally:
        progress.remove()
    return 0


BEAM_OPTIONS_NOTE = (
    "Beam pipeline options: any Beam or Dataflow option passes through to Beam unchanged, e.g. "
    "--runner=DataflowRunner --project=PROJECT --region=REGION --temp_location=gs://BUCKET/tmp "
    "(default runner: DirectRunner, on this machine). List them all with "
    "`trt-text-classifier run --help-beam`; Dataflow's are described at "
    "https://cloud.google.com/dataflow/docs/reference/pipeline-options"
)


def parameter_help() -> str:
    from pydantic_core import PydanticUndefined

    from trt_text_classifier.launch.parameters import PipelineParameters

    lines = ["usage: trt-text-classifier run --name=value ... [Beam pipeline options]", ""]
    for name, field in PipelineParameters.model_fields.items():
        lines.append(f"  --{name}")
        example = field.examples[0] if field.examples else ""
        default = getattr(field.default, "value", field.default)  # an enum shows its value
        described = "Default:" in (field.description or "")
        absent = default is PydanticUndefined or default is None
        shown = "" if absent or described else f" Default: {default}."
        lines.append(f"      {field.description}{shown} Example: {example}")
    lines += ["", BEAM_OPTIONS_NOTE]
    return "\n".join(lines)


def beam_option_help() -> str:
    """Every option of Beam's PipelineOptions classes (the ones installed here), as argparse shows them."""
    from apache_beam.options.pipeline_options import PipelineOptions, _BeamArgumentParser

    # The parser class Beam itself hands to each options class (it knows value-provider options).
    parser = _BeamArgumentParser(
        prog="trt-text-classifier run",
        usage="%(prog)s [pipeline parameters] [Beam options]",
        conflict_handler="resolve",
        add_help=False,
    )
    pending = list(PipelineOptions.__subclasses__())
    while pending:
        options_class = pending.pop(0)
        options_class._add_argparse_args(parser)  # Beam's hook for each options class
        pending.extend(options_class.__subclasses__())
    return parser.format_help()
