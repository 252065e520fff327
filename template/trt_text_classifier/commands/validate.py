"""`trt-text-classifier validate`: the launch checks on a parameter set, without a job."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from trt_text_classifier.commands.errors import report_errors
from trt_text_classifier.errors import ParameterError

if TYPE_CHECKING:
    from trt_text_classifier.dataflow.accelerator import WorkerGpu
    from trt_text_classifier.launch.parameters import PipelineParameters

HELP = "check template parameters offline: --parameters-file FILE.json or --parameters k=v,..."


def add_parameter_arguments(parser: argparse.ArgumentParser) -> None:
    """--parameters / --parameters-file / --no-io, shared with `launch`."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--parameters-file",
        metavar="FILE",
        help="JSON object of parameter name -> string value, as the launcher receives them",
    )
    source.add_argument(
        "--parameters", metavar="K=V,...", help="gcloud's syntax, e.g. input=gs://b/x/*.txt,..."
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="show the log lines of Beam and the Google libraries (retries, credential lookups)",
    )
    parser.add_argument(
        "--no-io",
        action="store_true",
        help="skip the checks that read files (input pattern, model manifest, engine sidecar)",
    )


@contextlib.contextmanager
def quiet_unless_verbose(verbose: bool) -> Iterator[None]:
    """While a command runs, its user sees our one-line errors, not the libraries' retry logs.

    `logging.disable` is process-wide, so the previous level comes back when the command
    returns or raises: the CLI's `main` also runs inside other programs and test processes.
    """
    if verbose:
        yield
        return
    previous = logging.root.manager.disable
    logging.disable(logging.ERROR)
    try:
        yield
    finally:
        logging.disable(previous)


def read_parameters(args: argparse.Namespace) -> dict[str, str]:
    from trt_text_classifier.launch.template_parameters import (
        parse_parameters_file,
        parse_parameters_flag,
    )

    if args.parameters is not None:
        return parse_parameters_flag(args.parameters)
    path = args.parameters_file
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except IsADirectoryError:
        raise ParameterError(
            f"--parameters-file {path}: is a directory; give a JSON file"
        ) from None
    except UnicodeDecodeError as error:
        raise ParameterError(
            f"--parameters-file {path}: is not UTF-8 (byte {error.start}); save it as UTF-8"
        ) from None
    except OSError as error:
        raise ParameterError(
            f"--parameters-file {path}: cannot read it ({error.strerror})"
        ) from None
    return parse_parameters_file(text, path)


def warn_about_driver(worker: WorkerGpu) -> None:
    """One line on stderr when the default driver may be too old for the GPU."""
    from trt_text_classifier.dataflow.accelerator import driver_warning

    warning = driver_warning(worker)
    if warning:
        print(f"warning: {warning}", file=sys.stderr)


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="trt-text-classifier validate",
        description=(
            "Run the checks a template launch runs (service regexes, parameter model, GPU "
            "catalog, engine sidecar) and exit 0 when the parameters are valid."
        ),
    )
    add_parameter_arguments(parser)
    args = parser.parse_args(list(argv))
    with quiet_unless_verbose(args.verbose):
        return report_errors(lambda: _validate(args))


def check_template_parameters(
    values: Mapping[str, str], *, io: bool = True
) -> tuple[PipelineParameters, WorkerGpu | None]:
    """Every check a template launch runs on `values`, with the launch's messages."""
    from trt_text_classifier.launch.preflight import check_parameters
    from trt_text_classifier.launch.template_parameters import template_parameters

    params = template_parameters(values)
    return params, check_parameters(params, runner="DataflowRunner", io=io)


def print_engine_cache_line(params: PipelineParameters, worker: WorkerGpu | None) -> None:
    """`engine cache: hit: ...` / `engine cache: miss: ...` for --engine_cache jobs."""
    from trt_text_classifier.launch.engine_cache_check import engine_cache_line

    line = engine_cache_line(params, worker)
    if line is not None:
        print(line)


def _validate(args: argparse.Namespace) -> int:
    params, worker = check_template_parameters(read_parameters(args), io=not args.no_io)
    if worker is not None:
        print(f"workers: {worker.machine_type} with {worker.accelerator.service_option()}")
        warn_about_driver(worker)
    if not args.no_io:
        print_engine_cache_line(params, worker)
    print("parameters are valid")
    return 0
