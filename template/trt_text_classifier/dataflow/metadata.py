"""metadata.json and the README's parameter table, generated from `PipelineParameters`.

Each field becomes one Flex Template parameter (Dataflow's `ParameterMetadata`,
camelCase JSON). The Dataflow parameter type comes from the field's
`ConsoleForm` annotation, or from its Python type when the annotation leaves
it at TEXT: bool -> BOOLEAN, int/float -> NUMBER, Enum/Literal -> ENUM with
`enumOptions`. Fields with fixed choices or booleans get a regex for them when
the annotation gives none.
"""

from __future__ import annotations

import enum
import json
import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from trt_text_classifier.params import ConsoleForm, PipelineParameters

TEMPLATE_NAME = "TensorRT text classification"
TEMPLATE_DESCRIPTION = (
    "Classifies text with a BERT model served by TensorRT on GPU workers (or ONNX Runtime on "
    "CPU workers): reads text files, writes JSON Lines predictions and dead letters."
)


def template_metadata(model: type[BaseModel] = PipelineParameters) -> dict[str, Any]:
    """The Flex Template metadata as a JSON-ready dict."""
    return {
        "name": TEMPLATE_NAME,
        "description": TEMPLATE_DESCRIPTION,
        "parameters": [
            parameter_metadata(name, field) for name, field in model.model_fields.items()
        ],
    }


def metadata_json(model: type[BaseModel] = PipelineParameters) -> str:
    """metadata.json's exact text (what `trt-text-classifier metadata` prints)."""
    return json.dumps(template_metadata(model), indent=2, ensure_ascii=False) + "\n"


def parameter_metadata(name: str, field: FieldInfo) -> dict[str, Any]:
    form = _console_form(name, field)
    choices = enum_choices(field.annotation)
    param_type = _param_type(field.annotation, form, choices)
    entry: dict[str, Any] = {
        "name": name,
        "label": field.title or name,
        "helpText": help_text(field),
        "isOptional": not field.is_required(),
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
    """The README's parameter table: one row per parameter, in the form's groups."""
    rows = [
        "| Parameter | Group | Type | Required | Default | Description |",
        "|---|---|---|---|---|---|",
    ]
    for entry in template_metadata(model)["parameters"]:
        rows.append(
            "| `{name}` | {group} | {type} | {required} | {default} | {help} |".format(
                name=entry["name"],
                group=entry["groupName"],
                type=entry["paramType"],
                required="no" if entry["isOptional"] else "yes",
                default=f"`{entry['defaultValue']}`" if "defaultValue" in entry else "",
                help=entry["helpText"].replace("|", "\\|"),
            )
        )
    return "\n".join(rows) + "\n"
