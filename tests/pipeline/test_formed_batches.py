"""Batch jobs move one Beam element per batch from OrderByLength through inference to the sink."""

from __future__ import annotations

import json
from pathlib import Path

import apache_beam as beam
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.testing.util import assert_that, equal_to

from trt_text_classifier.launch.command_line import parse_pipeline_args
from trt_text_classifier.launch.options import make_pipeline_options
from trt_text_classifier.model_tooling.demo_model import read_corpus
from trt_text_classifier.pipeline import build_pipeline
from trt_text_classifier.records import Prediction
from trt_text_classifier.run import summarize

RECORDS = 300
BATCH = 64


def batch_shape(element: object) -> tuple[str, int]:
    """What one element leaving inference is: a list of Predictions and its length."""
    if isinstance(element, list) and all(isinstance(item, Prediction) for item in element):
        return ("list of predictions", len(element))
    return (type(element).__name__, 1)


def test_records_travel_as_batches_after_ordering_and_leave_as_one_json_line_each(
    tmp_path: Path, demo_onnx: str
) -> None:
    sentences = [sentence for _, sentence in read_corpus()]
    lines = [sentences[index % len(sentences)] for index in range(RECORDS)]
    source = tmp_path / "in.txt"
    source.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    params, beam_args = parse_pipeline_args(
        [
            f"--input={source}",
            f"--output={tmp_path / 'out' / 'predictions'}",
            f"--onnx_path={demo_onnx}",
            f"--max_batch_size={BATCH}",
            "--runner=DirectRunner",
        ]
    )
    pipeline = beam.Pipeline(options=make_pipeline_options(params, beam_args))
    outputs = build_pipeline(pipeline, params)
    # One bundle of 300 records: four full batches and the rest, each one element.
    shapes = outputs.predictions | beam.Map(batch_shape)
    assert_that(
        shapes,
        equal_to([("list of predictions", BATCH)] * 4 + [("list of predictions", 44)]),
    )
    result = pipeline.run()
    result.wait_until_finish()

    (sizes,) = result.metrics().query(MetricsFilter().with_name("inference_request_batch_size"))[
        "distributions"
    ]
    assert (sizes.committed.count, sizes.committed.sum, sizes.committed.max) == (5, RECORDS, BATCH)
    summary = summarize(result)
    assert (summary.records_read, summary.predictions, summary.dead_letters) == (
        RECORDS,
        RECORDS,
        0,
    )
    shard_lines = [
        line
        for shard in sorted((tmp_path / "out").glob("predictions-*.jsonl"))
        for line in shard.read_text("utf-8").splitlines()
    ]
    rows = [json.loads(line) for line in shard_lines]
    assert sorted(row["id"] for row in rows) == sorted(
        f"{source}:{n}" for n in range(1, RECORDS + 1)
    )
    assert all(row["text"] == lines[int(row["id"].rsplit(":", 1)[1]) - 1] for row in rows)
