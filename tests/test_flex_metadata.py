"""metadata.json: generated from the parameter model, strict for Dataflow, accepted by gcloud."""

from __future__ import annotations

import enum
import json
import os
import pathlib
import re
import subprocess
from typing import Annotated, Literal

import pytest
import re2
from google.cloud.dataflow_v1beta3.types import ParameterType, TemplateMetadata
from google.protobuf import json_format
from pydantic import BaseModel, Field

from trt_text_classifier.commands import metadata as metadata_command
from trt_text_classifier.dataflow.metadata import markdown_table, metadata_json, template_metadata
from trt_text_classifier.dataflow.template_parameters import RESERVED_OPTIONS
from trt_text_classifier.params import ConsoleForm

ROOT = pathlib.Path(__file__).resolve().parents[1]
METADATA = ROOT / "metadata.json"
PARAMETERS = template_metadata()["parameters"]

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
    "input_subscription": [
        "reviews-to-classify",
        "projects/my-project/topics/reviews",
        "projects/my-project/subscriptions/",
        "projects/My-Project/subscriptions/reviews",
    ],
    "output_table": ["reviews.predictions", "my-project.reviews.predictions", "my-project:reviews"],
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
    "PUBSUB_TOPIC": MISTAKES_BY_TYPE_PUBSUB_TOPIC,
}


def mistakes_for(entry: dict) -> list[str]:
    if entry["name"] in MISTAKES_BY_NAME:
        return MISTAKES_BY_NAME[entry["name"]]
    kind = "GCS" if entry["paramType"].startswith("GCS_") else entry["paramType"]
    return MISTAKES_BY_TYPE[kind]


def example_of(entry: dict) -> str:
    return entry["helpText"].rpartition(" Example: ")[2]


def test_metadata_json_is_what_the_model_generates() -> None:
    assert METADATA.read_text(encoding="utf-8") == metadata_json()
    assert metadata_command.main(["--check", str(METADATA)]) == 0


def test_check_reports_a_diff_and_fails_when_the_file_differs(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stale = tmp_path / "metadata.json"
    stale.write_text(metadata_json().replace('"Input files"', '"Input"'), encoding="utf-8")
    assert metadata_command.main(["--check", str(stale)]) == 1
    out, err = capsys.readouterr()
    assert '-      "label": "Input",\n+      "label": "Input files",' in out
    assert "regenerate it with `trt-text-classifier metadata >" in err


def test_metadata_parses_strictly_into_dataflow_template_metadata() -> None:
    message = TemplateMetadata.pb()()
    json_format.Parse(METADATA.read_text(encoding="utf-8"), message, ignore_unknown_fields=False)
    assert [p.name for p in message.parameters] == [p["name"] for p in PARAMETERS]
    engine = next(p for p in message.parameters if p.name == "engine_path")
    assert engine.param_type == ParameterType.GCS_READ_FILE


def test_strict_parse_rejects_an_unknown_key() -> None:
    document = json.loads(metadata_json())
    document["parameters"][0]["required"] = True
    with pytest.raises(json_format.ParseError, match='no field named "required"'):
        json_format.Parse(json.dumps(document), TemplateMetadata.pb()())


def test_keys_are_the_camel_case_json_names() -> None:
    """json_format also accepts proto names (help_text); Dataflow documents camelCase."""
    descriptor = TemplateMetadata.pb().DESCRIPTOR
    parameter_fields = descriptor.fields_by_name["parameters"].message_type.fields
    assert set(json.loads(metadata_json())) <= {field.json_name for field in descriptor.fields}
    for entry in PARAMETERS:
        assert set(entry) <= {field.json_name for field in parameter_fields}


def test_gcloud_builds_a_template_spec_from_it(tmp_path: pathlib.Path) -> None:
    """gcloud is lenient about keys; this checks it reads the file and embeds it whole."""
    environment = dict(os.environ, CLOUDSDK_CONFIG=str(tmp_path / "gcloud"))
    result = subprocess.run(
        [
            "gcloud", "dataflow", "flex-template", "build", "gs://b/t.json",
            "--image", "us-docker.pkg.dev/p/r/trt:1", "--sdk-language", "PYTHON",
            "--metadata-file", str(METADATA), "--print-only", "--format=json",
        ],
        capture_output=True, text=True, env=environment, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    spec = json.loads(json.loads(result.stdout))  # gcloud prints the spec as a JSON string
    assert spec["image"] == "us-docker.pkg.dev/p/r/trt:1"
    assert spec["sdkInfo"]["language"] == "PYTHON"
    assert spec["metadata"] == json.loads(metadata_json())


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
    document = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(
        r"<!-- parameters:begin .*?-->\n(.*?)<!-- parameters:end -->", document, re.DOTALL
    )
    assert match, "README.md lacks the parameters:begin/end markers"
    assert match.group(1) == markdown_table()
