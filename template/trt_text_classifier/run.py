"""Run the pipeline: parameters -> checks -> options -> graph -> (optionally) wait and report."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass

import apache_beam as beam
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import (
    GoogleCloudOptions,
    PipelineOptions,
    StandardOptions,
)
from apache_beam.runners.runner import PipelineResult

from trt_text_classifier.errors import ParameterError, one_line
from trt_text_classifier.io.output_naming import shard_glob
from trt_text_classifier.launch.command_line import parse_pipeline_args
from trt_text_classifier.launch.options import (
    check_beam_args,
    is_local_runner,
    make_pipeline_options,
    runner_name,
    with_environment_machine_type,
)
from trt_text_classifier.launch.output_locations import (
    claim_outputs,
    release_claims,
    remove_temp_directories,
)
from trt_text_classifier.launch.parameters import PipelineParameters
from trt_text_classifier.launch.preflight import check_parameters
from trt_text_classifier.launch.progress import Progress
from trt_text_classifier.pipeline import build_pipeline, make_handler
from trt_text_classifier.records import METRICS_NAMESPACE
from trt_text_classifier.serving.shared_backend import ClassifierLoader


@dataclass(frozen=True)
class RunSummary:
    """Counters of a finished run (all zero where the runner reports no metrics)."""

    records_read: int
    blank_lines: int
    predictions: int
    dead_letters: int
    truncated_records: int
    real_tokens: int
    computed_tokens: int

    @property
    def padding_efficiency(self) -> float:
        return self.real_tokens / self.computed_tokens if self.computed_tokens else 1.0


def run_pipeline(
    argv: Sequence[str],
    *,
    wait: bool,
    loader: ClassifierLoader | None = None,
    progress: Progress | None = None,
) -> tuple[PipelineParameters, PipelineResult]:
    """Validate, build and start the pipeline; with `wait`, block until it ends.

    The Flex Template entry point passes wait=False: the launcher must return
    once the job is submitted. `loader` replaces how workers load the model
    (the benchmark wraps the backend to time it). With `progress`, a local run that waits
    counts its results into it and shows them while it runs (launch/progress.py).
    """
    params, beam_args = parse_pipeline_args(argv)
    # The Flex Template launcher (wait=False) builds its own command line; only a command
    # line someone typed has its repeated Beam options refused.
    check_beam_args(beam_args, refuse_repeated=wait)
    params = with_environment_machine_type(params, beam_args)
    worker = check_parameters(params, runner=runner_name(beam_args))
    pipeline = create_pipeline(make_pipeline_options(params, beam_args, worker))
    outputs = build_pipeline(pipeline, params, make_handler(params, loader))
    if progress is not None and wait and is_local_runner(runner_name(beam_args)):
        progress.params = params
        progress.attach(outputs.predictions, outputs.dead_letters)
    # A run that this process sees to its end holds a claim on its prefixes: a second run to
    # the same or an overlapping prefix is refused meanwhile. A submitted job (the template
    # launcher does not wait) takes none, since nothing would release it: its run id in every
    # shard and staging name is what keeps two jobs from touching each other's files.
    job = pipeline.options.view_as(GoogleCloudOptions).job_name or ""
    claims = claim_outputs(params, job=job) if wait else []
    try:
        with progress.shown() if progress and progress.params else nullcontext():
            result = pipeline.run()  # a local batch run may finish here already
            if wait:
                result.wait_until_finish()
    except Exception as error:
        raise PipelineFailedError(
            f"the pipeline failed: {last_line(error)}{cleaned_up(params, wait)}"
        ) from error
    except KeyboardInterrupt:
        raise PipelineFailedError(f"interrupted{cleaned_up(params, wait)}") from None
    finally:
        if wait:
            release_claims(claims)
    return params, result


def cleaned_up(params: PipelineParameters, wait: bool) -> str:
    """Remove the output staging folders of a local run that stopped; say which."""
    removed = remove_temp_directories(params) if wait else []
    return f" (removed its temporary folders: {', '.join(removed)})" if removed else ""


def create_pipeline(options: PipelineOptions) -> beam.Pipeline:
    """The pipeline; Beam's refusal of its options (runner, region, ...) becomes one line."""
    try:
        return beam.Pipeline(options=options)
    except ValueError as error:
        text = "; ".join(line.strip() for line in str(error).splitlines() if line.strip())
        runner = options.view_as(StandardOptions).runner
        where = f"--runner={runner}" if "pipeline runner" in text else "Beam's pipeline options"
        raise ParameterError(f"{where}: {text}") from None


class PipelineFailedError(RuntimeError):
    """The job failed while running (an output that cannot be written, ...); one line."""


def last_line(error: BaseException, limit: int = 500) -> str:
    """The line of a runner's error that says what went wrong.

    Runners wrap the worker's exception in long multi-line messages (the traceback, then
    `OSError: ... [while running 'Step']`); its last non-blank line names the cause and the
    step. Errors raised outside a step get their type name in front.
    """
    line = one_line(error, limit, with_type=False, last=True)
    return line if "[while running" in line else one_line(error, limit, last=True)


def counter_totals(result: PipelineResult, namespace: str = METRICS_NAMESPACE) -> dict[str, int]:
    """The committed value of each counter in `namespace`, summed over steps, by name."""
    counters = result.metrics().query(MetricsFilter().with_namespace(namespace))["counters"]
    totals: dict[str, int] = {}
    for counter in counters:
        name = counter.key.metric.name
        totals[name] = totals.get(name, 0) + int(counter.committed or 0)
    return totals


def summarize(result: PipelineResult) -> RunSummary:
    totals = counter_totals(result)
    return RunSummary(
        records_read=totals.get("records_read", 0),
        blank_lines=totals.get("blank_lines", 0),
        predictions=totals.get("predictions_written", 0),
        dead_letters=totals.get("dead_letters_written", 0),
        truncated_records=totals.get("truncated_records", 0),
        real_tokens=totals.get("real_tokens", 0),
        computed_tokens=totals.get("computed_tokens", 0),
    )


def describe(params: PipelineParameters, summary: RunSummary) -> str:
    return "\n".join(
        [
            f"run: {params.run_id}",
            f"predictions:  {summary.predictions} -> {prediction_destinations(params)}",
            f"dead letters: {summary.dead_letters} -> "
            f"{params.dead_letter_topic or shard_glob(params.resolved_dead_letter_output, params.run_id)}",
            f"blank lines skipped: {summary.blank_lines}; "
            f"truncated records: {summary.truncated_records}; "
            f"padding efficiency: {summary.padding_efficiency:.1%}",
        ]
    )


def prediction_destinations(params: PipelineParameters) -> str:
    destinations = []
    if params.output:
        destinations.append(shard_glob(params.output, params.run_id))
    if params.output_topic:
        destinations.append(params.output_topic)
    if params.output_table:
        destinations.append(f"BigQuery {params.output_table}")
    return ", ".join(destinations)
