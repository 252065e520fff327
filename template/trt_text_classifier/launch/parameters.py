"""Launch parameters of the pipeline: the single source of truth.

Everything a user can set when launching the pipeline is a field of `PipelineParameters`,
declared by group in `record_fields.py` and `serving_fields.py`. The command-line flags (`command_line.py`), the
validation at launch, metadata.json (the Flex Template's parameter list) and the README's
parameter table are all derived from this model; nothing else declares a parameter.

The validation below covers both modes (one pipeline: `input` makes a batch job,
`input_subscription` a streaming one). The two Flex Template specs, metadata.json (batch) and
metadata-streaming.json, are views of this one model filtered by `ConsoleForm.modes`.

This module only checks syntax and the relations between parameters. Checks that need I/O (do
the input files exist, what can this model serve) live in `preflight.py`.
"""

from __future__ import annotations

import difflib
import posixpath
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ConfigDict, PrivateAttr, ValidationError, field_validator, model_validator

from trt_text_classifier.dataflow.accelerator_syntax import parse_accelerator
from trt_text_classifier.errors import ParameterError, summarize_validation_error
from trt_text_classifier.io.output_naming import OUTPUT_WILDCARDS, new_run_id, prefixes_overlap
from trt_text_classifier.launch.console_form import PATTERN_FORMS, ConsoleForm, JobMode
from trt_text_classifier.launch.record_fields import (
    DEFAULT_WINDOW_SECS,
    InputFields,
    InputFormat,
    OutputFields,
)
from trt_text_classifier.launch.serving_fields import (
    DEFAULT_MODEL_WATCH_INTERVAL_SECS,
    DEFAULT_STREAMING_BATCH_DURATION_SECS,
    BatchingFields,
    ModelFields,
    WorkerFields,
)


class PipelineParameters(WorkerFields, BatchingFields, ModelFields, OutputFields, InputFields):
    """The launch parameters of the text-classification pipeline.

    The groups are listed in reverse: pydantic orders inherited fields from the last base
    class to the first, so the form starts with the input fields.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    _run_id: str = PrivateAttr(default_factory=new_run_id)
    """Not a parameter: the token this run's output files carry (PREFIX-RUNID-...)."""

    @property
    def run_id(self) -> str:
        """The token unique to this run, in its output names and its claims on prefixes."""
        return self._run_id

    @field_validator("accelerator")
    @classmethod
    def _check_accelerator_syntax(cls, value: str | None) -> str | None:
        if value is not None:
            parse_accelerator(value)
        return value

    @model_validator(mode="after")
    def _check_relations(self) -> PipelineParameters:
        if (self.onnx_path is None) == (self.engine_path is None):
            given = "both were given" if self.onnx_path else "neither was given"
            raise ValueError(
                f"--onnx_path / --engine_path: give exactly one model ({given}); "
                "--onnx_path serves with ONNX Runtime, --engine_path with TensorRT"
            )
        self._check_input_and_outputs()
        self._check_engine_cache()
        self._check_model_watch()
        if self.text_field == self.id_field:
            raise ValueError(
                f"--text_field / --id_field: both name {self.text_field!r}; the text and the "
                "id must be different fields"
            )
        if self.max_batch_size is not None and self.min_batch_size > self.max_batch_size:
            raise ValueError(
                f"--min_batch_size={self.min_batch_size} is larger than "
                f"--max_batch_size={self.max_batch_size}; lower the minimum or raise the maximum"
            )
        return self

    def _check_engine_cache(self) -> None:
        if self.engine_cache is None:
            return
        if self.onnx_path is None:
            raise ValueError(
                "--engine_cache: needs --onnx_path (the model the workers build engines from); "
                "with --engine_path the engine is given, drop --engine_cache"
            )
        if self.accelerator is None:
            raise ValueError(
                "--engine_cache: needs --accelerator (the workers build the engine for their "
                "GPU); without a GPU --onnx_path serves with ONNX Runtime, drop --engine_cache"
            )
        if self.model_watch_pattern is not None:
            raise ValueError(
                "--engine_cache: model swaps (--model_watch_pattern) are not supported with "
                "the engine cache yet; launch a new job with the new model"
            )

    def _check_model_watch(self) -> None:
        pattern = self.model_watch_pattern
        if pattern is None:
            if self.model_watch_interval_secs is not None:
                raise ValueError(
                    "--model_watch_interval_secs: needs --model_watch_pattern (the files to "
                    "watch for new models)"
                )
            return
        if not self.streaming:
            raise ValueError(
                "--model_watch_pattern: models are swapped in streaming jobs only (with "
                "--input_subscription); a batch job serves one model, start it with the new one"
            )
        if pattern.endswith(".onnx") != (self.onnx_path is not None):
            serving = "--onnx_path" if self.onnx_path else "--engine_path"
            wanted = "*.onnx" if self.onnx_path else "TensorRT engines such as *.plan"
            raise ValueError(
                f"--model_watch_pattern={pattern!r}: the job serves {serving}, so the pattern "
                f"must match {wanted}"
            )

    def _check_input_and_outputs(self) -> None:
        if (self.input is None) == (self.input_subscription is None):
            given = "both were given" if self.input else "neither was given"
            raise ValueError(
                f"--input / --input_subscription: give exactly one ({given}); --input reads "
                "files (batch), --input_subscription reads Pub/Sub (streaming)"
            )
        if self.output is None and self.output_topic is None and self.output_table is None:
            raise ValueError(
                "--output / --output_topic / --output_table: give at least one output, e.g. "
                "--output=gs://bucket/out/predictions"
            )
        if self.streaming:
            self._check_streaming_outputs()
        else:
            self._check_batch_outputs()

    def _check_streaming_outputs(self) -> None:
        if self.input_format is not InputFormat.TEXT:
            raise ValueError(
                f"--input_format={self.input_format.value}: applies to --input files; a "
                "Pub/Sub message is read as JSON when its payload starts with '{'"
            )
        if self.dead_letter_topic is None and self.output is None and not self.dead_letter_output:
            raise ValueError(
                "--dead_letter_topic: required with --input_subscription unless dead letters "
                "go to files; give a topic such as projects/my-project/topics/dead-letters, "
                "or --dead_letter_output"
            )

    def _check_batch_outputs(self) -> None:
        if self.window_secs is not None:
            raise ValueError(
                "--window_secs: windows files of streaming jobs (--input_subscription); batch "
                "jobs write one set of files, drop it"
            )
        if self.input_format is InputFormat.TEXT and (self.text_field, self.id_field) != (
            "text",
            "id",
        ):
            name = "--text_field" if self.text_field != "text" else "--id_field"
            raise ValueError(
                f"{name}: names a field of JSON records; plain text input has none, so "
                "add --input_format=jsonl or drop it"
            )
        if self.output_topic is not None:
            raise ValueError(
                "--output_topic: Pub/Sub output needs streaming input (--input_subscription); "
                "with --input use --output or --output_table"
            )
        if self.dead_letter_topic is not None:
            raise ValueError(
                "--dead_letter_topic: needs streaming input (--input_subscription); with "
                "--input use --dead_letter_output"
            )
        if self.output is None and self.dead_letter_output is None:
            raise ValueError(
                "--dead_letter_output: required when --output is not given; give a prefix "
                "such as gs://bucket/out/dead_letters/predictions"
            )
        self._check_output_prefixes()

    def _check_output_prefixes(self) -> None:
        """Beam's file sink expands globs and writes PREFIX-RUNID-...: no wildcards, no overlap."""
        prefixes = {"output": self.output, "dead_letter_output": self.resolved_dead_letter_output}
        for name, prefix in prefixes.items():
            wildcard = next((char for char in OUTPUT_WILDCARDS if char in (prefix or "")), None)
            if wildcard:
                raise ValueError(
                    f"--{name}={prefix!r}: contains the wildcard {wildcard!r}; an output is a "
                    "plain prefix such as gs://bucket/out/predictions"
                )
            if prefix and prefix.endswith("/"):
                raise ValueError(
                    f"--{name}={prefix!r}: ends with '/', a folder; an output is a prefix that "
                    f"names the files, such as {prefix}predictions"
                )
        if self.output and prefixes_overlap(self.output, self.resolved_dead_letter_output):
            raise ValueError(
                f"--dead_letter_output={self.resolved_dead_letter_output!r}: overlaps "
                f"--output={self.output!r} (both would write the same files); "
                "give prefixes where neither is the other followed by '-' (compared after "
                "resolving ./, // and relative paths)"
            )

    @property
    def streaming(self) -> bool:
        """A Pub/Sub input makes the job a streaming job."""
        return self.input_subscription is not None

    @property
    def mode(self) -> JobMode:
        """The job mode, hence the template spec these parameters launch with."""
        return JobMode.STREAMING if self.streaming else JobMode.BATCH

    @property
    def batch_duration_secs(self) -> float | None:
        """`max_batch_duration_secs`, or its default: 1 s for streaming, None for batch."""
        if self.max_batch_duration_secs is None and self.streaming:
            return DEFAULT_STREAMING_BATCH_DURATION_SECS
        return self.max_batch_duration_secs

    @property
    def watch_interval_secs(self) -> float:
        """`model_watch_interval_secs`, or its default of 60 seconds."""
        return self.model_watch_interval_secs or DEFAULT_MODEL_WATCH_INTERVAL_SECS

    @property
    def file_window_secs(self) -> int:
        """`window_secs`, or its default of 60 seconds."""
        return self.window_secs or DEFAULT_WINDOW_SECS

    @property
    def model_path(self) -> str:
        """The model to serve: the ONNX file or the TensorRT engine."""
        return self.onnx_path or self.engine_path or ""

    @property
    def resolved_dead_letter_output(self) -> str:
        """`dead_letter_output`, or its default: OUTPUT_DIR/dead_letters/OUTPUT_NAME."""
        if self.dead_letter_output:
            return self.dead_letter_output
        directory, name = posixpath.split(self.output or "")
        return posixpath.join(directory, "dead_letters", name or "dead_letters")

    @classmethod
    def from_strings(cls, values: Mapping[str, str | None]) -> PipelineParameters:
        """Validate parameters as the launcher passes them: names to strings.

        Empty strings (what the Console form sends for a blank optional field)
        count as absent. Raises `ParameterError` with a one-line message.
        """
        present = {name: value for name, value in values.items() if value not in (None, "")}
        unknown = sorted(set(present) - set(cls.model_fields))
        if unknown:
            spelled = unknown[0].replace("-", "_")
            if spelled in cls.model_fields:
                raise ParameterError(
                    f"--{unknown[0]}: unknown parameter; did you mean --{spelled}? (parameters "
                    "are written with underscores)"
                )
            close = closest(f"--{unknown[0]}", [f"--{name}" for name in cls.model_fields])
            raise ParameterError(
                f"--{unknown[0]}: unknown parameter; "
                + (f"did you mean {close}?" if close else "known parameters are ")
                + ("" if close else ", ".join(cls.model_fields))
            )
        try:
            return cls.model_validate(present)
        except ValidationError as error:
            raise ParameterError(
                summarize_validation_error(error, as_flag=True, rephrase=explain_pattern_mismatch)
            ) from None


def closest(name: str, candidates: Sequence[str]) -> str | None:
    """The candidate `name` is most likely a misspelling of, if any is close."""
    matches = difflib.get_close_matches(name, candidates, n=1, cutoff=0.75)
    return matches[0] if matches else None


def explain_pattern_mismatch(problem: Any) -> str | None:
    """A parameter that does not match its regex: name what it is and give an example."""
    name = str(problem["loc"][0]) if problem["loc"] else ""
    if problem["type"] != "string_pattern_mismatch" or name not in PipelineParameters.model_fields:
        return None
    field = PipelineParameters.model_fields[name]
    example = field.examples[0] if field.examples else ""
    form = PATTERN_FORMS.get(problem.get("ctx", {}).get("pattern", ""))
    expected = f"expected {form}, e.g. {example}" if form else f"expected e.g. {example}"
    return f"not a valid {field.title}; {expected}"


def parameter_names() -> list[str]:
    return list(PipelineParameters.model_fields)


def console_form(name: str) -> ConsoleForm:
    """The `ConsoleForm` annotation of a parameter."""
    for item in PipelineParameters.model_fields[name].metadata:
        if isinstance(item, ConsoleForm):
            return item
    raise LookupError(f"parameter {name} has no ConsoleForm annotation")
