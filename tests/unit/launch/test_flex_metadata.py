"""The two template specs: generated from the parameter model, strict for Dataflow, accepted by gcloud."""

from __future__ import annotations

import enum
import json
import os
import pathlib
import re
import shutil
import stat
import subprocess
from typing import Annotated, Literal

import pytest
import re2
import yaml
from google.cloud.dataflow_v1beta3.types import ParameterType, StreamingMode, TemplateMetadata
from google.protobuf import json_format
from pydantic import BaseModel, Field

from support.repository import REPOSITORY
from trt_text_classifier.commands import metadata as metadata_command
from trt_text_classifier.errors import ParameterError
from trt_text_classifier.launch.console_form import STREAMING_ONLY, ConsoleForm, JobMode
from trt_text_classifier.launch.metadata import (
    TEMPLATES,
    markdown_table,
    metadata_json,
    parameter_entries,
    template_metadata,
)
from trt_text_classifier.launch.parameters import PipelineParameters
from trt_text_classifier.launch.template_parameters import RESERVED_OPTIONS

ROOT = REPOSITORY
METADATA = ROOT / "metadata.json"
METADATA_STREAMING = ROOT / "metadata-streaming.json"
FILES = {JobMode.BATCH: METADATA, JobMode.STREAMING: METADATA_STREAMING}
CHECK_FLAGS = {JobMode.BATCH: [], JobMode.STREAMING: ["--streaming"]}
PARAMETERS = list(
    {entry["name"]: entry for mode in JobMode for entry in parameter_entries(mode=mode)}.values()
)
"""Every parameter once (regexes, types and help text are the same in both specs)."""

BATCH_PARAMETERS = [
    "input", "input_format", "text_field", "id_field", "output", "dead_letter_output", "output_table", "onnx_path", "engine_path",
    "engine_cache", "tokenizer", "threshold", "max_seq_length", "min_batch_size", "max_batch_size",
    "max_batch_duration_secs", "accelerator", "machine_type", "sdk_container_image",
]  # fmt: skip
STREAMING_PARAMETERS = [
    "input_subscription", "text_field", "id_field", "output", "dead_letter_output",
    "output_topic", "output_table", "dead_letter_topic", "window_secs", "onnx_path",
    "engine_path", "engine_cache", "tokenizer", "threshold", "model_watch_pattern",
    "model_watch_interval_secs", "max_seq_length", "min_batch_size", "max_batch_size",
    "max_batch_duration_secs", "accelerator", "machine_type", "sdk_container_image",
]  # fmt: skip
REQUIRED = {
    JobMode.BATCH: ["input"],
    JobMode.STREAMING: ["input_subscription"],
}
MODE_IDS = [mode.value for mode in JobMode]

MISTAKES_BY_NAME = {
    "accelerator": [
        "nvidia-l4:1",
        "type:nvidia-l4,count:1,install-nvidia-driver",
        "type:nvidia-l4;count:1",
        "type:nvidia-l4;count:0;install-nvidia-driver",
        "type:NVIDIA-L4;count:1;install-nvidia-driver",
        "count:1;type:nvidia-l4;install-nvidia-driver",
    ],
    "machine_type": ["G2-STANDARD-8", "g2 standard 8", "g2"],
    "sdk_container_image": [
        "https://us-docker.pkg.dev/p/r/i:1",
        "us-docker.pkg.dev/p/r/i:",
        "trt-text-classifier",
    ],
    "max_batch_duration_secs": ["-1", "one", "1,5", "1e3"],
    "model_watch_interval_secs": ["-1", "one", "1,5", "1e3"],
    "threshold": ["-0.1", "1.5", "50%", "0,5", "2"],
    "model_watch_pattern": [
        "my-bucket/models/*.onnx",
        "gs:/my-bucket/models/*.onnx",
        "gs://My-Bucket/models/*.onnx",
        "/home/me/models/*.onnx",
    ],
    "input_subscription": [
        "reviews-to-classify",
        "projects/my-project/topics/reviews",
        "projects/my-project/subscriptions/",
        "projects/My-Project/subscriptions/reviews",
    ],
    "output_table": ["reviews.predictions", "my-project.reviews.predictions", "my-project:reviews"],
    "text_field": ["", " review", "review "],
    "id_field": ["", " review_id", "review_id\t"],
}
MISTAKES_BY_TYPE_PUBSUB_TOPIC = [
    "review-predictions",
    "projects/my-project/subscriptions/predictions",
    "projects/my-project/topics/ab",
    "/topics/predictions",
]
MISTAKES_BY_TYPE = {
    "GCS": [
        "my-bucket/reviews/*.txt",
        "gs:/my-bucket/reviews/*.txt",
        "https://storage.googleapis.com/my-bucket/reviews.txt",
        "gs://My-Bucket/reviews.txt",
        "gs://my-bucket",
        "/home/me/reviews.txt",
    ],
    "NUMBER": ["0", "-1", "1.5", "64 ", "sixty"],
    "ENUM": ["JSONL", "json", "csv", ""],
    "PUBSUB_TOPIC": MISTAKES_BY_TYPE_PUBSUB_TOPIC,
}


def mistakes_for(entry: dict) -> list[str]:
    if entry["name"] in MISTAKES_BY_NAME:
        return MISTAKES_BY_NAME[entry["name"]]
    kind = "GCS" if entry["paramType"].startswith("GCS_") else entry["paramType"]
    return MISTAKES_BY_TYPE[kind]


def example_of(entry: dict) -> str:
    return entry["helpText"].rpartition(" Example: ")[2]


@pytest.mark.parametrize("mode", JobMode, ids=MODE_IDS)
def test_template_files_are_what_the_model_generates(mode: JobMode) -> None:
    assert FILES[mode].read_text(encoding="utf-8") == metadata_json(mode=mode)
    assert FILES[mode].name == TEMPLATES[mode].file_name
    assert metadata_command.main([*CHECK_FLAGS[mode], "--check", str(FILES[mode])]) == 0


def test_metadata_prints_the_batch_spec_by_default_and_streaming_on_request(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert metadata_command.main([]) == 0
    assert capsys.readouterr().out == METADATA.read_text(encoding="utf-8")
    assert metadata_command.main(["--streaming"]) == 0
    assert capsys.readouterr().out == METADATA_STREAMING.read_text(encoding="utf-8")


def test_check_reports_a_diff_and_fails_when_the_file_differs(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stale = tmp_path / "metadata-streaming.json"
    stale.write_text(
        metadata_json(mode=JobMode.STREAMING).replace('"AT_LEAST_ONCE"', '"EXACTLY_ONCE"'),
        encoding="utf-8",
    )
    assert metadata_command.main(["--streaming", "--check", str(stale)]) == 1
    out, err = capsys.readouterr()
    assert (
        '-  "defaultStreamingMode": "EXACTLY_ONCE",\n+  "defaultStreamingMode": "AT_LEAST_ONCE",'
        in out
    )
    assert err == (
        f"error: {stale} differs from the parameter model; regenerate it with "
        f"`trt-text-classifier metadata --streaming > {stale}`\n"
    )


def test_check_refuses_the_other_templates_file(capsys: pytest.CaptureFixture[str]) -> None:
    """Without --streaming the hint would overwrite metadata-streaming.json with the batch spec."""
    assert metadata_command.main(["--check", str(METADATA_STREAMING)]) == 2
    assert "is the other template's file" in capsys.readouterr().err
    assert metadata_command.main(["--streaming", "--check", str(METADATA)]) == 2


@pytest.mark.parametrize("mode", JobMode, ids=MODE_IDS)
def test_metadata_parses_strictly_into_dataflow_template_metadata(mode: JobMode) -> None:
    message = TemplateMetadata.pb()()
    json_format.Parse(FILES[mode].read_text(encoding="utf-8"), message, ignore_unknown_fields=False)
    expected = {JobMode.BATCH: BATCH_PARAMETERS, JobMode.STREAMING: STREAMING_PARAMETERS}[mode]
    assert [p.name for p in message.parameters] == expected
    assert [p.name for p in message.parameters if not p.is_optional] == REQUIRED[mode]
    engine = next(p for p in message.parameters if p.name == "engine_path")
    assert engine.param_type == ParameterType.GCS_READ_FILE


def test_only_the_streaming_template_is_streaming() -> None:
    batch, streaming = TemplateMetadata.pb()(), TemplateMetadata.pb()()
    json_format.Parse(METADATA.read_text(encoding="utf-8"), batch)
    json_format.Parse(METADATA_STREAMING.read_text(encoding="utf-8"), streaming)
    assert (batch.streaming, batch.supports_at_least_once, batch.supports_exactly_once) == (
        False, False, False,
    )  # fmt: skip
    assert batch.default_streaming_mode == ""
    assert (streaming.streaming, streaming.supports_at_least_once) == (True, True)
    assert streaming.supports_exactly_once is True
    assert streaming.default_streaming_mode == "AT_LEAST_ONCE"
    named = StreamingMode["STREAMING_MODE_" + streaming.default_streaming_mode]
    assert named == StreamingMode.STREAMING_MODE_AT_LEAST_ONCE  # the service's spelling


def test_every_parameter_is_in_a_template_and_together_they_are_the_model() -> None:
    batch = {entry["name"] for entry in template_metadata(mode=JobMode.BATCH)["parameters"]}
    streaming = {entry["name"] for entry in template_metadata(mode=JobMode.STREAMING)["parameters"]}
    assert batch | streaming == set(PipelineParameters.model_fields)
    assert batch - streaming == {"input", "input_format"}
    assert streaming - batch == {
        "input_subscription", "output_topic", "dead_letter_topic", "window_secs",
        "model_watch_pattern", "model_watch_interval_secs",
    }  # fmt: skip


EXAMPLES = {name: field.examples[0] for name, field in PipelineParameters.model_fields.items()}
SMALLEST = {
    JobMode.BATCH: {"input", "output", "onnx_path"},
    JobMode.STREAMING: {"input_subscription", "output_topic", "dead_letter_topic", "onnx_path"},
}
"""The fewest parameters of each mode the model accepts."""


def launch_values(names: set[str]) -> dict[str, str]:
    return {name: str(EXAMPLES[name]) for name in names}


@pytest.mark.parametrize("mode", JobMode, ids=MODE_IDS)
def test_each_template_leaves_out_exactly_what_the_model_refuses_in_its_mode(
    mode: JobMode,
) -> None:
    """The specs are views of the model: a form field the job would refuse is a bug."""
    assert PipelineParameters.from_strings(launch_values(SMALLEST[mode])).mode == mode
    listed = {entry["name"] for entry in template_metadata(mode=mode)["parameters"]}
    for name in set(PipelineParameters.model_fields) - listed:
        with pytest.raises(ParameterError, match=f"--{name}"):
            PipelineParameters.from_strings(launch_values(SMALLEST[mode] | {name}))


@pytest.mark.parametrize("mode", JobMode, ids=MODE_IDS)
def test_parameters_required_in_a_template_are_the_ones_its_mode_needs(mode: JobMode) -> None:
    for name in REQUIRED[mode]:
        with pytest.raises(ParameterError):
            PipelineParameters.from_strings(launch_values(SMALLEST[mode] - {name}))


def test_strict_parse_rejects_an_unknown_key() -> None:
    document = json.loads(metadata_json())
    document["parameters"][0]["required"] = True
    with pytest.raises(json_format.ParseError, match='no field named "required"'):
        json_format.Parse(json.dumps(document), TemplateMetadata.pb()())


@pytest.mark.parametrize("mode", JobMode, ids=MODE_IDS)
def test_keys_are_the_camel_case_json_names(mode: JobMode) -> None:
    """json_format also accepts proto names (help_text); Dataflow documents camelCase."""
    descriptor = TemplateMetadata.pb().DESCRIPTOR
    parameter_fields = descriptor.fields_by_name["parameters"].message_type.fields
    document = json.loads(metadata_json(mode=mode))
    assert set(document) <= {field.json_name for field in descriptor.fields}
    for entry in document["parameters"]:
        assert set(entry) <= {field.json_name for field in parameter_fields}


def gcloud_environment(tmp_path: pathlib.Path) -> dict[str, str]:
    return dict(os.environ, CLOUDSDK_CONFIG=str(tmp_path / "gcloud"))


def test_gcloud_builds_the_batch_template_spec_from_it(tmp_path: pathlib.Path) -> None:
    """gcloud is lenient about keys; this checks it reads the file and embeds it whole."""
    result = subprocess.run(
        [
            "gcloud", "dataflow", "flex-template", "build", "gs://b/t.json",
            "--image", "us-docker.pkg.dev/p/r/trt:1", "--sdk-language", "PYTHON",
            "--metadata-file", str(METADATA), "--print-only", "--format=json",
        ],
        capture_output=True, text=True, env=gcloud_environment(tmp_path), timeout=120,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    spec = json.loads(json.loads(result.stdout))  # gcloud prints the spec as a JSON string
    assert spec["image"] == "us-docker.pkg.dev/p/r/trt:1"
    assert spec["sdkInfo"]["language"] == "PYTHON"
    assert spec["metadata"] == json.loads(metadata_json())
    assert "streaming" not in spec["metadata"]


STEP_VALUES = {
    "PROJECT_ID": "my-project",
    "_TEMPLATE_PATH_STREAMING": "gs://my-project-dataflow-templates/trt/abc-streaming.json",
    "_IMAGE_URI": "us-docker.pkg.dev/p/r/trt",
    "_TAG": "abc",
}
GCLOUD_SHIM = """#!/bin/bash
if [ "$1" = storage ] && [ "$2" = cp ]; then exec cp "$3" "{bucket}/$(basename "$4")"; fi
exec {gcloud} "$@"
"""
"""gcloud for the Cloud Build step: the real one, except `storage cp` copies to a folder."""


def test_cloud_build_step_writes_the_streaming_spec_with_its_streaming_fields(
    tmp_path: pathlib.Path,
) -> None:
    """Runs cloudbuild.yaml's template-spec-streaming script, with only the upload faked."""
    build = yaml.safe_load((ROOT / "cloudbuild.yaml").read_text())
    step = next(step for step in build["steps"] if step["id"] == "template-spec-streaming")
    script = re.sub(r"\$\{(\w+)\}", lambda match: STEP_VALUES[match.group(1)], step["args"][1])
    workspace, shims, bucket = tmp_path / "workspace", tmp_path / "bin", tmp_path / "bucket"
    for folder in (workspace / "container", shims, bucket):
        folder.mkdir(parents=True)
    shutil.copy(METADATA_STREAMING, workspace)
    shutil.copy(ROOT / "container" / "template_spec.py", workspace / "container")
    shim = shims / "gcloud"
    shim.write_text(GCLOUD_SHIM.format(bucket=bucket, gcloud=shutil.which("gcloud")))
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    environment = gcloud_environment(tmp_path)
    environment["PATH"] = f"{shims}:{environment['PATH']}"
    result = subprocess.run(
        ["bash", "-c", script], cwd=workspace, capture_output=True, text=True,
        env=environment, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    spec = json.loads((bucket / "abc-streaming.json").read_text())
    assert spec["image"] == "us-docker.pkg.dev/p/r/trt:abc"
    assert spec["sdkInfo"] == {"language": "PYTHON"}
    assert spec["defaultEnvironment"] == {"enableStreamingEngine": True}
    assert spec["metadata"] == json.loads(metadata_json(mode=JobMode.STREAMING))
    assert spec["metadata"]["streaming"] is True


def test_every_parameter_is_described_for_the_console_form() -> None:
    valid_types = {member.name for member in ParameterType} - {"DEFAULT"}
    for entry in PARAMETERS:
        assert entry["label"] and entry["groupName"], entry["name"]
        assert entry["paramType"] in valid_types, entry["name"]
        assert " Example: " in entry["helpText"] and example_of(entry), entry["name"]
        assert isinstance(entry["isOptional"], bool)


def test_parameter_types_fit_the_values() -> None:
    types = {entry["name"]: entry["paramType"] for entry in PARAMETERS}
    assert types["engine_path"] == "GCS_READ_FILE"
    assert types["output"] == "GCS_WRITE_FOLDER"
    assert types["max_batch_size"] == "NUMBER"
    assert types["machine_type"] == "MACHINE_TYPE"


def test_reserved_options_are_never_parameters() -> None:
    assert not {entry["name"] for entry in PARAMETERS} & RESERVED_OPTIONS


@pytest.mark.parametrize("entry", PARAMETERS, ids=lambda entry: entry["name"])
def test_regexes_accept_the_example_and_reject_typical_mistakes(entry: dict) -> None:
    assert entry.get("regexes"), f"{entry['name']} has no regex for the service to match"
    for pattern in entry["regexes"]:
        compiled = re2.compile(pattern)
        assert compiled.search(example_of(entry)), (pattern, example_of(entry))
        if "defaultValue" in entry:
            assert compiled.search(entry["defaultValue"])
        for mistake in mistakes_for(entry):
            assert not compiled.search(mistake), (pattern, mistake)


def test_regexes_compile_in_java(tmp_path: pathlib.Path) -> None:
    """The service matches regexes in Java: compile each and match the example there too."""
    cases = [(pattern, example_of(entry)) for entry in PARAMETERS for pattern in entry["regexes"]]
    source = tmp_path / "Check.java"
    source.write_text(
        "import java.util.regex.Pattern;\n"
        "public class Check { public static void main(String[] a) {\n"
        "  for (int i = 0; i < a.length; i += 2) {\n"
        "    if (!Pattern.compile(a[i]).matcher(a[i + 1]).find()) {\n"
        '      System.out.println("no match: " + a[i] + " " + a[i + 1]); System.exit(1); }\n'
        "  } } }\n"
    )
    arguments = [text for case in cases for text in case]
    result = subprocess.run(
        ["java", str(source), *arguments], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


class _Colour(enum.Enum):
    RED = "red"
    GREEN = "green"


class _Sample(BaseModel):
    mode: Annotated[
        Literal["batch", "streaming"],
        Field(title="Mode", description="How to run.", examples=["batch"]),
        ConsoleForm(group="Run"),
    ] = "batch"
    colour: Annotated[
        _Colour | None,
        Field(title="Colour", description="A colour.", examples=["red"]),
        ConsoleForm(group="Run"),
    ] = None
    verbose: Annotated[
        bool, Field(title="Verbose", description="Log more.", examples=[True]), ConsoleForm("Run")
    ] = False
    ratio: Annotated[
        float, Field(title="Ratio", description="A ratio.", examples=[0.5]), ConsoleForm("Run")
    ]
    topic: Annotated[
        str | None,
        Field(title="Topic", description="Where to send.", examples=["t"]),
        ConsoleForm("Run", modes=STREAMING_ONLY, required_in=STREAMING_ONLY),
    ] = None


def test_generation_derives_types_from_annotations() -> None:
    entries = {entry["name"]: entry for entry in template_metadata(_Sample)["parameters"]}
    assert entries["mode"]["paramType"] == "ENUM"
    assert entries["mode"]["enumOptions"] == [
        {"value": "batch", "label": "batch"},
        {"value": "streaming", "label": "streaming"},
    ]
    assert entries["mode"]["regexes"] == ["^(batch|streaming)$"]
    assert entries["mode"]["defaultValue"] == "batch"
    assert [option["value"] for option in entries["colour"]["enumOptions"]] == ["red", "green"]
    assert entries["verbose"]["paramType"] == "BOOLEAN"
    assert entries["verbose"]["regexes"] == ["^(true|false)$"]
    assert entries["verbose"]["defaultValue"] == "false"
    assert entries["ratio"]["paramType"] == "NUMBER"
    assert entries["ratio"]["isOptional"] is False
    json_format.Parse(json.dumps(template_metadata(_Sample)), TemplateMetadata.pb()())


def test_documented_parameter_table_is_the_generated_one() -> None:
    document = (ROOT / "docs" / "parameters.md").read_text(encoding="utf-8")
    match = re.search(
        r"<!-- parameters:begin .*?-->\n(.*?)<!-- parameters:end -->", document, re.DOTALL
    )
    assert match, "docs/parameters.md lacks the parameters:begin/end markers"
    assert match.group(1) == markdown_table()


def test_generation_filters_by_mode_and_derives_required_per_mode() -> None:
    batch = {entry["name"]: entry for entry in template_metadata(_Sample)["parameters"]}
    streaming = {
        entry["name"]: entry
        for entry in template_metadata(_Sample, mode=JobMode.STREAMING)["parameters"]
    }
    assert list(batch) == ["mode", "colour", "verbose", "ratio"]
    assert list(streaming) == ["mode", "colour", "verbose", "ratio", "topic"]
    assert streaming["topic"]["isOptional"] is False
    assert streaming["ratio"]["isOptional"] is False and batch["ratio"]["isOptional"] is False
    rows = markdown_table(_Sample).splitlines()
    assert (
        rows[0] == "| Parameter | Templates | Group | Type | Required in | Default | Description |"
    )
    assert (
        rows[5]
        == "| `ratio` | batch, streaming | Run | NUMBER | batch, streaming |  | A ratio. Example: 0.5 |"
    )
    assert (
        rows[6] == "| `topic` | streaming | Run | TEXT | streaming |  | Where to send. Example: t |"
    )


def test_console_form_refuses_modes_that_cannot_be_published() -> None:
    with pytest.raises(ValueError, match=r"ConsoleForm\.modes"):
        ConsoleForm("Run", modes=frozenset())
    with pytest.raises(ValueError, match=r"ConsoleForm\.required_in"):
        ConsoleForm("Run", modes=STREAMING_ONLY, required_in=frozenset({JobMode.BATCH}))
