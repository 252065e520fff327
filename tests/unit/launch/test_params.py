"""The parameter model: accepted values, and one clear line for each kind of mistake."""

from __future__ import annotations

import pytest

from trt_text_classifier.errors import ParameterError
from trt_text_classifier.launch.command_line import parse_pipeline_args
from trt_text_classifier.launch.parameters import PipelineParameters, console_form

VALID = {"input": "gs://b/in/*.txt", "output": "gs://b/out/p", "onnx_path": "gs://b/m/model.onnx"}


def parse(**overrides: str | None) -> PipelineParameters:
    return PipelineParameters.from_strings({**VALID, **overrides})


def test_defaults() -> None:
    params = parse()
    assert params.max_seq_length == 128
    assert (params.min_batch_size, params.max_batch_size) == (1, None)
    assert params.max_batch_duration_secs is None
    assert params.model_path == "gs://b/m/model.onnx"


def test_strings_are_converted_like_the_launcher_sends_them() -> None:
    params = parse(max_seq_length="256", min_batch_size="8", max_batch_size="32")
    assert (params.max_seq_length, params.min_batch_size, params.max_batch_size) == (256, 8, 32)


def test_empty_strings_count_as_absent() -> None:
    assert parse(tokenizer="", dead_letter_output="").tokenizer is None


@pytest.mark.parametrize(
    ("output", "dead_letter_output", "expected"),
    [
        ("gs://b/out/predictions", None, "gs://b/out/dead_letters/predictions"),
        ("out/predictions", None, "out/dead_letters/predictions"),
        ("predictions", None, "dead_letters/predictions"),
        ("gs://b/out/p", "gs://b/dl/x", "gs://b/dl/x"),
    ],
)
def test_dead_letter_default_is_beside_the_output(
    output: str, dead_letter_output: str | None, expected: str
) -> None:
    params = parse(output=output, dead_letter_output=dead_letter_output)
    assert params.resolved_dead_letter_output == expected


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"onnx_path": None},
            "--onnx_path / --engine_path: give exactly one model (neither was given); "
            "--onnx_path serves with ONNX Runtime, --engine_path with TensorRT",
        ),
        (
            {"engine_path": "gs://b/e.plan"},
            "--onnx_path / --engine_path: give exactly one model (both were given); "
            "--onnx_path serves with ONNX Runtime, --engine_path with TensorRT",
        ),
        (
            {"input": None},
            "--input / --input_subscription: give exactly one (neither was given)",
        ),
        (
            {"output": None},
            "--output / --output_topic / --output_table: give at least one output",
        ),
        (
            {"max_seq_length": "0"},
            "--max_seq_length='0': Input should be greater than or equal to 3",
        ),
        (
            {"max_seq_length": "513"},
            "--max_seq_length='513': Input should be less than or equal to 512",
        ),
        (
            {"max_seq_length": "long"},
            "--max_seq_length='long': Input should be a valid integer, unable to parse string as an integer",
        ),
        (
            {"min_batch_size": "0"},
            "--min_batch_size='0': Input should be greater than or equal to 1",
        ),
        (
            {"min_batch_size": "65", "max_batch_size": "64"},
            "--min_batch_size=65 is larger than --max_batch_size=64; "
            "lower the minimum or raise the maximum",
        ),
        (
            {"max_batch_duration_secs": "-1"},
            "--max_batch_duration_secs='-1': Input should be greater than 0",
        ),
        (
            {"colour": "red"},
            "--colour: unknown parameter; known parameters are input, input_subscription, input_format, ",
        ),
    ],
)
def test_bad_values_name_the_parameter(overrides: dict[str, str | None], message: str) -> None:
    with pytest.raises(ParameterError) as raised:
        parse(**overrides)
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)


def test_unknown_flags_pass_through_to_beam() -> None:
    params, beam_args = parse_pipeline_args(
        [
            "--input=in/*.txt",
            "--output",
            "out/p",
            "--onnx_path=m/model.onnx",
            "--runner=DataflowRunner",
            "--project=my-project",
            "--max_seq_length=64",
            "--temp_location",
            "gs://b/tmp",
        ]
    )
    assert params.input == "in/*.txt"
    assert params.max_seq_length == 64
    assert beam_args == [
        "--runner=DataflowRunner",
        "--project=my-project",
        "--temp_location",
        "gs://b/tmp",
    ]


def test_prefixes_of_parameter_names_are_not_abbreviations() -> None:
    _, beam_args = parse_pipeline_args(["--in=x", *[f"--{k}={v}" for k, v in VALID.items()]])
    assert beam_args == ["--in=x"]


def test_every_parameter_documents_itself_for_the_console_form() -> None:
    for name, field in PipelineParameters.model_fields.items():
        assert field.title, name
        assert field.description, name
        assert field.examples, name
        assert console_form(name).group, name


STREAMING = {
    "input": None,
    "output": None,
    "input_subscription": "projects/my-project/subscriptions/reviews",
    "output_topic": "projects/my-project/topics/predictions",
    "dead_letter_topic": "projects/my-project/topics/dead-letters",
}


def test_threshold_defaults_to_one_half_and_is_a_probability() -> None:
    assert parse().threshold == 0.5
    assert parse(threshold="0.8").threshold == 0.8
    with pytest.raises(ParameterError, match=r"^--threshold='1.5': "):
        parse(threshold="1.5")


def test_a_streaming_job_may_watch_for_models_of_the_kind_it_serves() -> None:
    params = parse(**STREAMING, model_watch_pattern="gs://b/models/*/model.onnx")
    assert (params.model_watch_pattern, params.watch_interval_secs) == (
        "gs://b/models/*/model.onnx",
        60.0,
    )
    assert parse(**STREAMING, model_watch_pattern="gs://b/m/*.onnx",
                 model_watch_interval_secs="5").watch_interval_secs == 5.0  # fmt: skip


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"model_watch_pattern": "gs://b/models/*.onnx"}, "models are swapped in streaming jobs"),
        (
            {**STREAMING, "model_watch_pattern": "gs://b/engines/*.plan"},
            "the job serves --onnx_path, so the pattern must match *.onnx",
        ),
        (
            {**STREAMING, "onnx_path": None, "engine_path": "gs://b/e/a.plan",
             "model_watch_pattern": "gs://b/models/*.onnx"},
            "the job serves --engine_path, so the pattern must match TensorRT engines",
        ),
        ({**STREAMING, "model_watch_interval_secs": "5"}, "needs --model_watch_pattern"),
    ],
)  # fmt: skip
def test_model_watch_mistakes_are_one_line(overrides: dict, message: str) -> None:
    with pytest.raises(ParameterError, match=r"^--model_watch_(pattern|interval_secs)") as error:
        parse(**overrides)
    assert message in str(error.value)
    assert "\n" not in str(error.value)
