"""`trt-text-classifier run`, but the model loads with the faulty backend of `fault_injection`.

Run as a script (`python tests/support/faulty_streaming_job.py --input_subscription=...`)
by tests/emulators/test_io_pubsub.py: the same parameters, checks and graph as the CLI,
with batches holding `fault_injection.POISON` failing in the backend.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import apache_beam as beam

from support.fault_injection import load_faulty_classifier
from trt_text_classifier.launch.command_line import parse_pipeline_args
from trt_text_classifier.launch.options import make_pipeline_options
from trt_text_classifier.launch.preflight import check_parameters
from trt_text_classifier.pipeline import build_pipeline, make_handler


def main(argv: Sequence[str]) -> None:
    params, beam_args = parse_pipeline_args(argv)
    check_parameters(params)
    pipeline = beam.Pipeline(options=make_pipeline_options(params, beam_args))
    build_pipeline(pipeline, params, make_handler(params, loader=load_faulty_classifier))
    pipeline.run().wait_until_finish()


if __name__ == "__main__":
    main(sys.argv[1:])
