"""Input/output parameters: which combinations are valid, one line naming the parameter otherwise."""

from __future__ import annotations

import re

import pytest
from apache_beam.options.pipeline_options import StandardOptions

from trt_text_classifier.errors import ParameterError
from trt_text_classifier.launch.options import make_pipeline_options
from trt_text_classifier.launch.parameters import PipelineParameters, console_form
from trt_text_classifier.launch.serving_fields import DEFAULT_STREAMING_BATCH_DURATION_SECS
from trt_text_classifier.pipeline import make_handler
from trt_text_classifier.serving.handler import LENGTH_BUCKET_BOUNDARIES

MODEL = {"onnx_path": "gs://b/m/model.onnx"}
SUBSCRIPTION = "projects/my-project/subscriptions/reviews"
TOPIC = "projects/my-project/topics/predictions"
DEAD_TOPIC = "projects/my-project/topics/dead-letters"
STREAMING = {**MODEL, "input_subscription": SUBSCRIPTION, "dead_letter_topic": DEAD_TOPIC}


def parse(**values: str) -> PipelineParameters:
    return PipelineParameters.from_strings(values)


def test_streaming_parameters_make_a_streaming_job_with_a_batch_wait() -> None:
    params = parse(**STREAMING, output_topic=TOPIC, output_table="my-project:reviews.predictions")
    assert params.streaming
    assert params.batch_duration_secs == DEFAULT_STREAMING_BATCH_DURATION_SECS
    options = make_pipeline_options(params, [])
    assert options.view_as(StandardOptions).streaming is True


def test_batch_job_keeps_bundle_batching_and_streaming_off() -> None:
    params = parse(**MODEL, input="gs://b/in/*.txt", output="gs://b/out/p")
    assert not params.streaming
    assert params.batch_duration_secs is None
    assert make_pipeline_options(params, []).view_as(StandardOptions).streaming is False


def test_explicit_batch_wait_wins_in_streaming() -> None:
    params = parse(**STREAMING, output_topic=TOPIC, max_batch_duration_secs="0.25")
    assert params.batch_duration_secs == 0.25


def test_batch_job_may_write_only_bigquery_with_file_dead_letters() -> None:
    params = parse(
        **MODEL,
        input="gs://b/in/*.txt",
        output_table="example.com:my-project:reviews.predictions",
        dead_letter_output="gs://b/dead/p",
    )
    assert params.resolved_dead_letter_output == "gs://b/dead/p"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {**MODEL, "output": "o"},
            "--input / --input_subscription: give exactly one (neither was given)",
        ),
        (
            {**STREAMING, "input": "in/*.txt", "output_topic": TOPIC},
            "--input / --input_subscription: give exactly one (both were given)",
        ),
        (
            {**MODEL, "input": "in/*.txt"},
            "--output / --output_topic / --output_table: give at least one output",
        ),
        (
            {**MODEL, "input_subscription": SUBSCRIPTION, "output_topic": TOPIC},
            "--dead_letter_topic: required with --input_subscription unless dead letters go "
            "to files",
        ),
        (
            {**STREAMING, "output": "o", "input_format": "jsonl"},
            "--input_format=jsonl: applies to --input files; a Pub/Sub message is read as JSON",
        ),
        (
            {**MODEL, "input": "in/*.txt", "output": "o", "text_field": "review"},
            "--text_field: names a field of JSON records; plain text input has none, so add "
            "--input_format=jsonl or drop it",
        ),
        (
            {**MODEL, "input": "in/*.jsonl", "output": "o", "input_format": "csv"},
            "--input_format='csv': Input should be 'text' or 'jsonl'",
        ),
        (
            {
                **MODEL,
                "input": "in/*.jsonl",
                "input_format": "jsonl",
                "output": "o",
                "text_field": "body",
                "id_field": "body",
            },
            "--text_field / --id_field: both name 'body'; the text and the id must be different",
        ),
        (
            {**MODEL, "input": "in/*.txt", "output": "o", "window_secs": "30"},
            "--window_secs: windows files of streaming jobs (--input_subscription)",
        ),
        (
            {**MODEL, "input": "in/*.txt", "output_topic": TOPIC},
            "--output_topic: Pub/Sub output needs streaming input (--input_subscription)",
        ),
        (
            {**MODEL, "input": "in/*.txt", "output": "o", "dead_letter_topic": DEAD_TOPIC},
            "--dead_letter_topic: needs streaming input (--input_subscription)",
        ),
        (
            {**MODEL, "input": "in/*.txt", "output_table": "my-project:reviews.predictions"},
            "--dead_letter_output: required when --output is not given",
        ),
        (
            {**STREAMING, "output_topic": "my-topic"},
            "--output_topic='my-topic': not a valid Output Pub/Sub topic; expected "
            "projects/PROJECT/topics/NAME, e.g. projects/my-project/topics/review-predictions",
        ),
        (
            {**STREAMING, "output_table": "reviews.predictions"},
            "--output_table='reviews.predictions': not a valid Output BigQuery table; expected "
            "PROJECT:DATASET.TABLE, e.g. my-project:reviews.predictions",
        ),
        (
            {**MODEL, "input_subscription": "projects/my-project/topics/reviews"},
            "--input_subscription='projects/my-project/topics/reviews': not a valid Input "
            "Pub/Sub subscription",
        ),
    ],
)
def test_wrong_combinations_name_the_parameter(values: dict[str, str], message: str) -> None:
    with pytest.raises(ParameterError) as raised:
        PipelineParameters.from_strings(values)
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("name", "param_type"),
    [
        ("input_subscription", "PUBSUB_SUBSCRIPTION"),
        ("output_topic", "PUBSUB_TOPIC"),
        ("dead_letter_topic", "PUBSUB_TOPIC"),
        ("output_table", "BIGQUERY_TABLE"),
    ],
)
def test_console_form_types_and_regexes_accept_the_examples(name: str, param_type: str) -> None:
    form = console_form(name)
    assert form.param_type == param_type
    example = PipelineParameters.model_fields[name].examples[0]
    assert all(re.fullmatch(regex, example) for regex in form.regexes)
    assert not any(re.fullmatch(regex, "not a valid value") for regex in form.regexes)


def test_streaming_handler_batches_by_length_bucket_with_the_default_wait() -> None:
    params = parse(**STREAMING, output_topic=TOPIC)
    batching = make_handler(params).batch_elements_kwargs()
    assert batching["max_batch_duration_secs"] == DEFAULT_STREAMING_BATCH_DURATION_SECS
    assert batching["bucket_boundaries"] == list(LENGTH_BUCKET_BOUNDARIES)


def test_batch_handler_keeps_bundle_batching() -> None:
    params = parse(**MODEL, input="gs://b/in/*.txt", output="gs://b/out/p")
    assert make_handler(params).batch_elements_kwargs() == {
        "min_batch_size": 1,
        "max_batch_size": 64,
    }


def test_streaming_jobs_may_write_files_and_dead_letter_files() -> None:
    params = PipelineParameters.from_strings(
        {**MODEL, "input_subscription": SUBSCRIPTION, "output": "gs://b/out/p", "window_secs": "5"}
    )
    assert params.streaming
    assert params.file_window_secs == 5
    assert params.resolved_dead_letter_output == "gs://b/out/dead_letters/p"
    default = PipelineParameters.from_strings(
        {**MODEL, "input_subscription": SUBSCRIPTION, "output": "gs://b/out/p"}
    )
    assert default.file_window_secs == 60
