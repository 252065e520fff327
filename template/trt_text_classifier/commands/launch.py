"""`trt-text-classifier launch`: validate the parameters here, then launch the Flex Template."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from trt_text_classifier.commands.errors import report_errors
from trt_text_classifier.commands.validate import (
    add_parameter_arguments,
    check_template_parameters,
    print_engine_cache_line,
    quiet_unless_verbose,
    read_parameters,
    warn_about_driver,
)

if TYPE_CHECKING:
    from trt_text_classifier.dataflow.accelerator import WorkerGpu

HELP = "validate, then launch the template (LaunchFlexTemplate); --dry-run prints the request"


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="trt-text-classifier launch",
        description="Validate the parameters locally, then launch the Flex Template job.",
    )
    parser.add_argument("--project", required=True, help="Google Cloud project id")
    parser.add_argument("--region", required=True, help="Dataflow region, e.g. us-central1")
    parser.add_argument("--job-name", required=True, help="Dataflow job name")
    parser.add_argument(
        "--template", required=True, help="template spec, e.g. gs://my-bucket/templates/trt.json"
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help=(
            "print the request and the equivalent gcloud command, and on stderr the worker's "
            "hourly price; launch nothing"
        ),
    )
    add_parameter_arguments(parser)
    args = parser.parse_args(list(argv))
    with quiet_unless_verbose(args.verbose):
        return report_errors(lambda: _launch(args))


def _launch(args: argparse.Namespace) -> int:
    from google.cloud import dataflow_v1beta3

    from trt_text_classifier.launch.gcloud_command import (
        LaunchTarget,
        check_job_name,
        gcloud_command,
        launch,
        launch_request,
    )
    from trt_text_classifier.launch.remote_checks import with_time_limit

    check_job_name(args.job_name)
    values = read_parameters(args)
    params, worker = check_template_parameters(values, io=not args.no_io)
    if worker is not None:
        warn_about_driver(worker)
    if not args.no_io:
        print_engine_cache_line(params, worker)
    target = LaunchTarget(args.project, args.region, args.job_name, args.template)
    request = launch_request(target, values)
    if args.dry_run:
        print(dataflow_v1beta3.LaunchFlexTemplateRequest.to_json(request))
        print(gcloud_command(target, values, args.parameters_file))
        print_cost(values, worker)
        return 0
    job = with_time_limit("template", args.template, lambda: launch(request)).job
    print(f"launched job {job.id} ({job.name}) in {args.region}", file=sys.stdout)
    return 0


def print_cost(values: Mapping[str, str], worker: WorkerGpu | None) -> None:
    """The worker shape's hourly price and the estimate per million sentences, on stderr
    (stdout stays the request and the gcloud command)."""
    from trt_text_classifier.dataflow.prices import cost_lines

    streaming = bool(values.get("input_subscription"))
    if worker is not None:
        gpu = worker.accelerator
        lines = cost_lines(worker.machine_type, gpu.gpu_type, gpu.count, streaming=streaming)
    elif values.get("machine_type"):
        lines = cost_lines(values["machine_type"], None, 0, streaming=streaming)
    else:
        lines = ["cost: no accelerator and no machine_type: Dataflow picks the machine; not priced"]
    print("\n".join(lines), file=sys.stderr)
