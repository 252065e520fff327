"""Beam pipeline options from the launch parameters and the flags Beam owns."""

from __future__ import annotations

from collections.abc import Sequence

from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from trt_text_classifier.params import PipelineParameters

DEFAULT_RUNNER = "DirectRunner"


def make_pipeline_options(params: PipelineParameters, beam_args: Sequence[str]) -> PipelineOptions:
    """Beam's own flags pass through unchanged; the runner defaults to the DirectRunner.

    A Pub/Sub input turns streaming on, whatever the flags say.
    """
    options = PipelineOptions(list(beam_args))
    standard = options.view_as(StandardOptions)
    if standard.runner is None:
        standard.runner = DEFAULT_RUNNER
    if params.streaming:
        standard.streaming = True
    return options
