"""The two Flex Template specs and the parameter table of docs/parameters.md, generated from `PipelineParameters`.

Dataflow's `streaming` flag is a static property of a template spec, so the
pipeline is published as two templates from the same image: metadata.json
(batch: files in) and metadata-streaming.json (streaming: Pub/Sub in). Each
lists the parameters whose `ConsoleForm.modes` include its mode, so a Console
form never offers a field its job would refuse.

Each listed field becomes one Flex Template parameter (Dataflow's
`ParameterMetadata`, camelCase JSON). The Dataflow parameter type comes from
the field's `ConsoleForm` annotation, or from its Python type when the
annotation leaves it at TEXT: bool -> BOOLEAN, int/float -> NUMBER,
Enum/Literal -> ENUM with `enumOptions`. Fields with fixed choices or booleans
get a regex for them when the annotation gives none.
"""

from __future__ import annotations

import enum
import json
import types
import typing
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from trt_text_classifier.launch.console_form import ConsoleForm, JobMode
from trt_text_classifier.launch.parameters import PipelineParameters


@dataclass(frozen=True)
class TemplateSpec:
    """The top-level fields of one template's metadata, besides its parameters.

    The batch template leaves `streaming` out (false by default): gcloud's
    `flex-template build` embeds such a file whole. It drops the streaming
    fields, which is why cloudbuild.yaml writes the streaming spec with
    container/template_spec.py.
    """

    file_name: str
    name: str
    description: str
    streaming_fields: tuple[tuple[str, Any], ...]


STREAMING_FIELDS = (
    ("streaming", True),
    ("supportsAtLeastOnce", True),
    ("supportsExactlyOnce", True),
    ("defaultStreamingMode", "AT_LEAST_ONCE"),
)
"""The streaming template's streaming mode: at-least-once by default, exactly-once offered.

Exactly-once buys nothing at this pipeline's ends: Pub/Sub delivers to
subscribers at least once and BigQuery streaming inserts deduplicate only on a
best-effort basis, so consumers must tolerate duplicates anyway. Every
prediction and dead letter carries its record's id (the `id` field of each
message and row, and each message's "id" attribute) so duplicates can be
removed downstream, and inference is a function of the record alone, so a
retried record gets the same answer.
At-least-once mode skips Dataflow's per-record deduplication: lower latency
and cost. It needs Streaming Engine (the default for Python streaming jobs);
exactly-once stays available in the Console's "Streaming mode" choice.
"""

TEMPLATES = {
    JobMode.BATCH: TemplateSpec(
        file_name="metadata.json",
        name="TensorRT text classification",
        description=(
            "Batch job: classifies text files with a BERT model served by TensorRT on GPU "
            "workers (or ONNX Runtime on CPU workers); writes predictions to JSON Lines files "
            "and/or BigQuery, and every record that could not be classified to dead-letter files."
        ),
        streaming_fields=(),
    ),
    JobMode.STREAMING: TemplateSpec(
        file_name="metadata-streaming.json",
        name="TensorRT text classification (streaming)",
        description=(
            "Streaming job: classifies Pub/Sub messages with a BERT model served by TensorRT on "
            "GPU workers (or ONNX Runtime on CPU workers); writes predictions to a Pub/Sub "
            "topic, BigQuery and/or windowed JSON Lines files, and every message that could not "
            "be classified to a dead-letter topic and/or windowed dead-letter files."
        ),
        streaming_fields=STREAMING_FIELDS,
    ),
}


def template_metadata(
    model: type[BaseModel] = PipelineParameters, *, mode: JobMode = JobMode.BATCH
) -> dict[str, Any]:
    """One template's metadata as a JSON-ready dict: its mode's parameters only."""
    spec = TEMPLATES[mode]
    return {
        "name": spec.name,
        "description": spec.description,
        **dict(spec.streaming_fields),
        "parameters": parameter_entries(model, mode=mode),
    }


def parameter_entries(
    model: type[BaseModel] = PipelineParameters, *, mode: JobMode
) -> list[dict[str, Any]]:
    """The `ParameterMetadata` of each field listed in `mode`'s template, in model order."""
    return [
        parameter_metadata(name, field, mode=mode)
        for name, field in model.model_fields.items()
        if mode in _console_form(name, field).modes
    ]


def metadata_json(
    model: type[BaseModel] = PipelineParameters, *, mode: JobMode = JobMode.BATCH
) -> str:
    """A template file's exact text (what `trt-text-classifier metadata [--streaming]` prints)."""
    return json.dumps(template_metadata(model, mode=mode), indent=2, ensure_ascii=False) + "\n"


def parameter_metadata(name: str, field: FieldInfo, *, mode: JobMode) -> dict[str, Any]:
    """One field as Dataflow's `ParameterMetadata`; required per mode (`ConsoleForm.required_in`)."""
    form = _console_form(name, field)
    choices = enum_choices(field.annotation)
    param_type = _param_type(field.annotation, form, choices)
    entry: dict[str, Any] = {
        "name": name,
        "label": field.title or name,
        "helpText": help_text(field),
        "isOptional": not (field.is_required() or mode in form.required_in),
        "paramType": param_type,
        "groupName": form.group,
    }
    regexes = list(form.regexes) or _implied_regexes(param_type, choices)
    if regexes:
        entry["regexes"] = regexes
    if choices:
        entry["enumOptions"] = [{"value": choice, "label": choice} for choice in choices]
    default = default_text(field)
    if default is not None:
        entry["defaultValue"] = default
    return entry


def help_text(field: FieldInfo) -> str:
    example = example_text(field)
    return f"{field.description} Example: {example}" if example else field.description or ""


def example_text(field: FieldInfo) -> str | None:
    return _as_text(field.examples[0]) if field.examples else None


def default_text(field: FieldInfo) -> str | None:
    if field.is_required() or field.default is None:
        return None
    return _as_text(field.default)


def enum_choices(annotation: Any) -> list[str]:
    """The fixed choices of an Enum or Literal annotation (optional or not), else []."""
    for candidate in _union_members(annotation):
        if isinstance(candidate, type) and issubclass(candidate, enum.Enum):
            return [str(member.value) for member in candidate]
        if typing.get_origin(candidate) is typing.Literal:
            return [_as_text(value) for value in typing.get_args(candidate)]
    return []


def _param_type(annotation: Any, form: ConsoleForm, choices: list[str]) -> str:
    if choices:
        return "ENUM"
    if form.param_type != "TEXT":
        return form.param_type
    members = _union_members(annotation)
    if bool in members:
        return "BOOLEAN"
    if int in members or float in members:
        return "NUMBER"
    return "TEXT"


def _implied_regexes(param_type: str, choices: list[str]) -> list[str]:
    if choices:
        return ["^(" + "|".join(_escape(choice) for choice in choices) + ")$"]
    if param_type == "BOOLEAN":
        return ["^(true|false)$"]
    return []


def _escape(text: str) -> str:
    """Escape for RE2 and Java alike (Python's re.escape may emit escapes they lack)."""
    return "".join(
        f"[{char}]" if not char.isalnum() and char not in "_-" else char for char in text
    )


def _union_members(annotation: Any) -> tuple[Any, ...]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return tuple(arg for arg in typing.get_args(annotation) if arg is not type(None))
    return (annotation,)


def _as_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return str(value.value)
    return str(value)


def _console_form(name: str, field: FieldInfo) -> ConsoleForm:
    for item in field.metadata:
        if isinstance(item, ConsoleForm):
            return item
    raise LookupError(f"parameter {name} has no ConsoleForm annotation")


def markdown_table(model: type[BaseModel] = PipelineParameters) -> str:
    """The parameter table of docs/parameters.md: each parameter once, with the templates that list it."""
    rows = [
        "| Parameter | Templates | Group | Type | Required in | Default | Description |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, field in model.model_fields.items():
        form = _console_form(name, field)
        entry = parameter_metadata(name, field, mode=next(iter(_ordered(form.modes))))
        required = form.modes if field.is_required() else form.required_in
        rows.append(
            "| `{name}` | {modes} | {group} | {type} | {required} | {default} | {help} |".format(
                name=name,
                modes=", ".join(mode.value for mode in _ordered(form.modes)),
                group=entry["groupName"],
                type=entry["paramType"],
                required=", ".join(mode.value for mode in _ordered(required)) or "no",
                default=f"`{entry['defaultValue']}`" if "defaultValue" in entry else "",
                help=entry["helpText"].replace("|", "\\|"),
            )
        )
    return "\n".join(rows) + "\n"


def _ordered(modes: frozenset[JobMode]) -> list[JobMode]:
    return [mode for mode in JobMode if mode in modes]
