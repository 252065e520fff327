"""Template parameters as the launcher receives them: names to strings.

`template_parameters` turns them into the parameter model the way a launch
does: the parameter model comes first (its messages are the most specific),
then the Dataflow service's regex match (the template spec of the parameters'
job mode, metadata.json or metadata-streaming.json; catches what the model
allows but the service refuses, such as local paths). `validate` and `launch`
then run `preflight.check_parameters` on the result, the very function
`run.run_pipeline` calls on the launcher VM.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from trt_text_classifier.errors import ParameterError
from trt_text_classifier.launch.console_form import JobMode
from trt_text_classifier.launch.metadata import parameter_entries
from trt_text_classifier.launch.parameters import PipelineParameters

RESERVED_OPTIONS = frozenset(
    {
        "runner",
        "project",
        "region",
        "job_name",
        "template_location",
        "temp_location",
        "staging_location",
        "service_account_email",
        "network",
        "subnetwork",
        "num_workers",
        "max_num_workers",
        "worker_region",
        "worker_zone",
        "labels",
        "streaming",
        "setup_file",
        "requirements_file",
    }
)
"""Options Dataflow or the launcher set themselves: never template parameters."""


def template_parameters(values: Mapping[str, str]) -> PipelineParameters:
    """The parameters of a template launch; raises `ParameterError` naming the parameter."""
    reserved = sorted(set(values) & RESERVED_OPTIONS)
    if reserved:
        raise ParameterError(
            f"--{reserved[0]}: not a template parameter; Dataflow sets it from the launch "
            "command (e.g. gcloud dataflow flex-template run --region, --staging-location)"
        )
    params = PipelineParameters.from_strings(values)
    check_service_regexes(values, params.mode)
    return params


def check_service_regexes(values: Mapping[str, str], mode: JobMode) -> None:
    """What the Dataflow service does first: each value must match its regexes.

    Only `mode`'s template is consulted: the model has already refused every
    parameter that template leaves out (e.g. output_topic in a batch job).
    """
    for entry in parameter_entries(mode=mode):
        value = values.get(entry["name"])
        if not value:
            continue
        for pattern in entry.get("regexes", ()):
            if not re.search(pattern, value):
                example = entry["helpText"].rpartition(" Example: ")[2]
                raise ParameterError(
                    f"--{entry['name']}={value!r}: does not match {pattern} (the Dataflow "
                    f"service refuses it before launching); e.g. {example}"
                )


def parse_parameters_file(text: str, path: str) -> dict[str, str]:
    """A JSON object of name -> string, as the launcher receives parameters."""
    repeated: list[str] = []

    def object_without_repeats(pairs: list[tuple[str, object]]) -> dict[str, object]:
        names = [name for name, _ in pairs]
        repeated.extend(name for name in dict.fromkeys(names) if names.count(name) > 1)
        return dict(pairs)

    try:
        values = json.loads(text, object_pairs_hook=object_without_repeats)
    except json.JSONDecodeError as error:
        raise ParameterError(f"--parameters-file {path}: not JSON: {error}") from None
    except RecursionError:
        raise ParameterError(
            f"--parameters-file {path}: not JSON this tool can read (nested too deeply); "
            "give a flat object of strings"
        ) from None
    if not isinstance(values, dict) or not all(_string_or_number(v) for v in values.values()):
        raise ParameterError(
            f"--parameters-file {path}: must be a JSON object of strings (or numbers), e.g. "
            '{"input": "gs://my-bucket/reviews/*.txt", "max_batch_size": 64}'
        )
    if repeated:
        raise ParameterError(
            f"--parameters-file {path}: {repeated[0]!r} is given more than once; give each "
            "parameter once"
        )
    return {name: v if isinstance(v, str) else json.dumps(v) for name, v in values.items()}


def _string_or_number(value: object) -> bool:
    """A value the launcher can pass: Dataflow hands every parameter over as a string anyway."""
    return isinstance(value, str) or (
        isinstance(value, int | float) and not isinstance(value, bool)
    )


def parse_parameters_flag(text: str) -> dict[str, str]:
    """gcloud's dict syntax: `k=v,k2=v2`, or `^;^k=v;k2=v2` with another delimiter."""
    delimiter = ","
    if text.startswith("^"):
        end = text.find("^", 1)
        if end <= 1:
            raise ParameterError("--parameters: write ^DELIM^k=v... with a one-character DELIM")
        delimiter, text = text[1:end], text[end + 1 :]
    values: dict[str, str] = {}
    for item in filter(None, text.split(delimiter)):
        name, equals, value = item.partition("=")
        if not equals:
            raise ParameterError(f"--parameters: {item!r} is not NAME=VALUE")
        name = name.strip()
        if name in values:
            raise ParameterError(
                f"--parameters: {name!r} is given more than once; give each parameter once"
            )
        values[name] = value
    return values


GCLOUD_DELIMITERS = ",~|#@;!$%&*+"
"""Tried in order: the first one no value contains separates the values (`^D^k=v...`)."""


def gcloud_parameters_flag(values: Mapping[str, str], parameters_file: str | None = None) -> str:
    """The inverse of `parse_parameters_flag`, choosing a delimiter no value contains.

    `parameters_file`: the file the values came from (the advice then cannot be to use one).
    """
    joined = "".join(f"{name}={value}" for name, value in values.items())
    delimiter = next((d for d in GCLOUD_DELIMITERS if d not in joined), None)
    if delimiter is None:
        fix = (
            f"launch without --dry-run, which sends the values of {parameters_file} as they are"
            if parameters_file
            else "pass them with --parameters-file instead"
        )
        where = f"--parameters-file {parameters_file}" if parameters_file else "--parameters"
        raise ParameterError(
            f"{where}: the values use every delimiter gcloud could split on "
            f"({GCLOUD_DELIMITERS}), so no gcloud command can carry them; {fix}"
        )
    body = delimiter.join(f"{name}={value}" for name, value in values.items())
    return body if delimiter == "," else f"^{delimiter}^{body}"
