"""Launch parameters of the pipeline: the single source of truth.

Everything a user can set when launching the pipeline is a field of
`PipelineParameters`. The command-line flags, the validation at launch,
metadata.json (the Flex Template's parameter list) and the README's parameter
table are all derived from this model; nothing else declares a parameter.

Each field carries, besides its type and constraints:
- a pydantic `title` (the Console form's label) and `description` (help text),
- `examples` (at least one value the user can copy),
- a `ConsoleForm` annotation: the form group, the Dataflow parameter type, the
  regexes the Dataflow service matches before launching, and the job modes
  (batch, streaming) whose template lists the parameter.

The validation below covers both modes (one pipeline: `input` makes a batch
job, `input_subscription` a streaming one). The two Flex Template specs,
metadata.json (batch) and metadata-streaming.json, are views of this one model
filtered by `ConsoleForm.modes`.

The launcher passes parameters as `--name=value` strings; anything this model
does not know (runner, project, region, temp_location, ...) passes through to
Beam untouched.

This module only checks syntax and the relations between parameters. Checks
that need I/O (do the input files exist, what can this model serve) live in
`preflight.py`.
"""

from __future__ import annotations

import argparse
import collections
import difflib
import enum
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from trt_text_classifier.dataflow.accelerator_syntax import ACCELERATOR_REGEX, parse_accelerator
from trt_text_classifier.errors import ParameterError

MAX_SUPPORTED_SEQUENCE_LENGTH = 512
"""BERT's position embeddings end at 512 tokens; a bundle may declare less."""
MIN_SEQUENCE_LENGTH = 3
"""Room for BERT's two special tokens ([CLS], [SEP]) and one word; less would truncate every
record to nothing (the launch check also asks the model's tokenizer how many it adds)."""


class JobMode(enum.Enum):
    """The two kinds of Dataflow job this pipeline runs; each has its own template spec."""

    BATCH = "batch"
    STREAMING = "streaming"


class InputFormat(enum.Enum):
    """How input files hold records: one text per line, or one JSON object per line."""

    TEXT = "text"
    JSONL = "jsonl"


BOTH_MODES = frozenset(JobMode)
BATCH_ONLY = frozenset({JobMode.BATCH})
STREAMING_ONLY = frozenset({JobMode.STREAMING})


@dataclass(frozen=True)
class ConsoleForm:
    """How a parameter appears in the template specs and the Cloud Console form.

    `param_type` is one of Dataflow's ParameterType names (TEXT, GCS_READ_FILE,
    GCS_WRITE_FOLDER, PUBSUB_SUBSCRIPTION, ENUM, NUMBER, BOOLEAN, ...).
    `regexes` must be RE2/Java compatible: the service matches them.
    `modes` are the job modes whose template lists the parameter: `streaming`
    is a static property of a template spec, so a Console form can only offer
    what its mode accepts. `required_in` are the modes where the form marks it
    required (the model keeps it optional because the other mode lacks it).
    """

    group: str
    param_type: str = "TEXT"
    regexes: tuple[str, ...] = ()
    modes: frozenset[JobMode] = BOTH_MODES
    required_in: frozenset[JobMode] = frozenset()

    def __post_init__(self) -> None:
        if not self.modes:
            raise ValueError("ConsoleForm.modes: a parameter belongs to at least one job mode")
        if not self.required_in <= self.modes:
            raise ValueError("ConsoleForm.required_in: a parameter is required only where listed")


INPUT_GROUP = "Input"
MODEL_GROUP = "Model"
OUTPUT_GROUP = "Output"
BATCHING_GROUP = "Batching"
WORKERS_GROUP = "Workers"

GCS_PATH = r"^gs://[a-z0-9][-_.a-z0-9]{1,61}[a-z0-9]/[^\s]+$"
"""What the Dataflow service accepts for a path: gs://BUCKET/OBJECT (local paths run locally only)."""
MACHINE_TYPE_REGEX = r"^[a-z][a-z0-9]*(-[a-z0-9]+)+$"
CONTAINER_IMAGE_REGEX = (
    r"^[a-z0-9][-a-z0-9.]*(:[0-9]+)?(/[a-z0-9][-a-z0-9._]*)+(:[A-Za-z0-9_][-A-Za-z0-9_.]{0,127}"
    r"|@sha256:[a-f0-9]{64})?$"
)
PUBSUB_NAME = r"[a-zA-Z][-_.~+%a-zA-Z0-9]{2,254}"
PROJECT_ID = r"[a-z][-a-z0-9:.]{4,61}[a-z0-9]"
PUBSUB_SUBSCRIPTION_PATH = rf"^projects/{PROJECT_ID}/subscriptions/{PUBSUB_NAME}$"
PUBSUB_TOPIC_PATH = rf"^projects/{PROJECT_ID}/topics/{PUBSUB_NAME}$"
JSON_FIELD_NAME = r"^\S(.*\S)?$"
"""A JSON member name: any text without leading or trailing blanks (they are stripped)."""
BIGQUERY_TABLE_SPEC = rf"^{PROJECT_ID}:[A-Za-z0-9_]+\.[-A-Za-z0-9_$]+$"
"""project:dataset.table (project ids may be domain-scoped: example.com:project)."""

DEFAULT_WINDOW_SECS = 60
"""Window of a streaming job's output files when window_secs is not given."""
OUTPUT_WILDCARDS = ("*", "?", "[")
"""Glob characters: Beam would expand them when it deletes an output's old shards."""
OUTPUT_SUFFIX = ".jsonl"
SHARD_GLOB = "-?????-of-?????"
"""Beam's shard names (-SSSSS-of-NNNNN) as a glob that matches nothing else."""


def prefixes_overlap(first: str, second: str) -> bool:
    """True when one output's shard glob (PREFIX-*-of-N.jsonl) can match the other's files."""
    return first == second or first.startswith(second + "-") or second.startswith(first + "-")


def shard_glob(prefix: str) -> str:
    """The files one run writes under `prefix` (an existing match is refused at launch)."""
    return prefix + SHARD_GLOB + OUTPUT_SUFFIX


DEFAULT_STREAMING_BATCH_DURATION_SECS = 1.0
"""Longest a partial batch waits in a streaming job when max_batch_duration_secs is not given."""
DEFAULT_THRESHOLD = 0.5
DEFAULT_MODEL_WATCH_INTERVAL_SECS = 60.0


class PipelineParameters(BaseModel):
    """The launch parameters of the text-classification pipeline."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    input: Annotated[
        str | None,
        Field(
            title="Input files",
            description=(
                "File pattern of the text to classify, one record per line (UTF-8). "
                "Blank lines are skipped."
            ),
            examples=["gs://my-bucket/reviews/*.txt"],
        ),
        ConsoleForm(
            group=INPUT_GROUP,
            param_type="GCS_READ_FILE",
            regexes=(GCS_PATH,),
            modes=BATCH_ONLY,
            required_in=BATCH_ONLY,
        ),
    ] = None

    input_subscription: Annotated[
        str | None,
        Field(
            pattern=PUBSUB_SUBSCRIPTION_PATH,
            title="Input Pub/Sub subscription",
            description=(
                "Pub/Sub subscription to classify messages from; runs a streaming job. Give "
                "this or input, not both. A message is UTF-8 text, or a JSON object "
                '{"id": ..., "text": ..., ...} (see text_field, id_field; other fields are '
                'kept); without an id the message\'s "id" attribute, else its Pub/Sub '
                "message id, is used."
            ),
            examples=["projects/my-project/subscriptions/reviews-to-classify"],
        ),
        ConsoleForm(
            group=INPUT_GROUP,
            param_type="PUBSUB_SUBSCRIPTION",
            regexes=(PUBSUB_SUBSCRIPTION_PATH,),
            modes=STREAMING_ONLY,
            required_in=STREAMING_ONLY,
        ),
    ] = None

    input_format: Annotated[
        InputFormat,
        Field(
            title="Input file format",
            description=(
                "text: each line is the text to classify. jsonl: each line is a JSON object; "
                "text_field is classified, id_field gives the id, every other field is "
                "copied unchanged into the output's fields."
            ),
            examples=["jsonl"],
        ),
        ConsoleForm(
            group=INPUT_GROUP, param_type="ENUM", regexes=(r"^(text|jsonl)$",), modes=BATCH_ONLY
        ),
    ] = InputFormat.TEXT

    text_field: Annotated[
        str,
        Field(
            min_length=1,
            title="JSON text field",
            description=(
                "Field of a JSON record (jsonl line or JSON Pub/Sub message) that holds the "
                "text to classify."
            ),
            examples=["review"],
        ),
        ConsoleForm(group=INPUT_GROUP, regexes=(JSON_FIELD_NAME,)),
    ] = "text"

    id_field: Annotated[
        str,
        Field(
            min_length=1,
            title="JSON id field",
            description=(
                "Field of a JSON record that holds its id (a string or an integer). Records "
                "without it get PATH:LINE (files) or the message's id. Ids are not checked "
                "for uniqueness: duplicates are all classified."
            ),
            examples=["review_id"],
        ),
        ConsoleForm(group=INPUT_GROUP, regexes=(JSON_FIELD_NAME,)),
    ] = "id"

    output: Annotated[
        str | None,
        Field(
            title="Output prefix",
            description=(
                "Prefix of the JSON Lines prediction files; batch jobs write "
                "PREFIX-SSSSS-of-NNNNN.jsonl, streaming jobs one set of shards per window: "
                "PREFIX-WINDOWSTART-WINDOWEND-SSSSS-of-NNNNN.jsonl (see window_secs)."
            ),
            examples=["gs://my-bucket/results/predictions"],
        ),
        ConsoleForm(group=OUTPUT_GROUP, param_type="GCS_WRITE_FOLDER", regexes=(GCS_PATH,)),
    ] = None

    dead_letter_output: Annotated[
        str | None,
        Field(
            title="Dead-letter output prefix",
            description=(
                "Prefix of the JSON Lines files that receive every record that could not "
                "be classified, with its error. Default: a dead_letters folder beside the "
                "output prefix (OUTPUT_DIR/dead_letters/OUTPUT_NAME). Streaming jobs write "
                "these files, windowed like the output, when this is given or when no "
                "dead_letter_topic is."
            ),
            examples=["gs://my-bucket/results/dead_letters/predictions"],
        ),
        ConsoleForm(group=OUTPUT_GROUP, param_type="GCS_WRITE_FOLDER", regexes=(GCS_PATH,)),
    ] = None

    output_topic: Annotated[
        str | None,
        Field(
            pattern=PUBSUB_TOPIC_PATH,
            title="Output Pub/Sub topic",
            description=(
                "Pub/Sub topic that receives one JSON message per prediction (streaming jobs), "
                "with the input message's attributes and the record's id as its \"id\" "
                "attribute."
            ),
            examples=["projects/my-project/topics/review-predictions"],
        ),
        ConsoleForm(
            group=OUTPUT_GROUP,
            param_type="PUBSUB_TOPIC",
            regexes=(PUBSUB_TOPIC_PATH,),
            modes=STREAMING_ONLY,
        ),
    ] = None

    output_table: Annotated[
        str | None,
        Field(
            pattern=BIGQUERY_TABLE_SPEC,
            title="Output BigQuery table",
            description=(
                "BigQuery table (project:dataset.table) that receives one row per prediction; "
                "created if needed, rows are appended. Batch jobs load files, streaming jobs "
                "use streaming inserts."
            ),
            examples=["my-project:reviews.predictions"],
        ),
        ConsoleForm(
            group=OUTPUT_GROUP, param_type="BIGQUERY_TABLE", regexes=(BIGQUERY_TABLE_SPEC,)
        ),
    ] = None

    dead_letter_topic: Annotated[
        str | None,
        Field(
            pattern=PUBSUB_TOPIC_PATH,
            title="Dead-letter Pub/Sub topic",
            description=(
                "Pub/Sub topic that receives every message that could not be classified "
                "(malformed message, failed inference), as JSON with its error. Required "
                "with input_subscription unless dead letters go to files (output or "
                "dead_letter_output)."
            ),
            examples=["projects/my-project/topics/review-dead-letters"],
        ),
        ConsoleForm(
            group=OUTPUT_GROUP,
            param_type="PUBSUB_TOPIC",
            regexes=(PUBSUB_TOPIC_PATH,),
            modes=STREAMING_ONLY,
        ),
    ] = None

    window_secs: Annotated[
        int | None,
        Field(
            ge=1,
            le=86400,
            title="File window (seconds)",
            description=(
                "Streaming jobs writing files (output, dead_letter_output): one set of files "
                "per window of this many seconds of processing time, written when the "
                "window closes. Default: 60."
            ),
            examples=[60],
        ),
        ConsoleForm(
            group=OUTPUT_GROUP,
            param_type="NUMBER",
            regexes=(r"^[1-9][0-9]{0,4}$",),
            modes=STREAMING_ONLY,
        ),
    ] = None

    onnx_path: Annotated[
        str | None,
        Field(
            title="ONNX model",
            description=(
                "ONNX model served with ONNX Runtime (a model.onnx written by the export or "
                "demo-model command). Give this or engine_path, not both."
            ),
            examples=["gs://my-bucket/models/sst2/model.onnx"],
        ),
        ConsoleForm(group=MODEL_GROUP, param_type="GCS_READ_FILE", regexes=(GCS_PATH,)),
    ] = None

    engine_path: Annotated[
        str | None,
        Field(
            title="TensorRT engine",
            description=(
                "TensorRT engine (.plan) written by build-engine, with its .plan.json sidecar "
                "beside it. Give this or onnx_path, not both."
            ),
            examples=["gs://my-bucket/engines/sst2-l4-fp16.plan"],
        ),
        ConsoleForm(group=MODEL_GROUP, param_type="GCS_READ_FILE", regexes=(GCS_PATH,)),
    ] = None

    tokenizer: Annotated[
        str | None,
        Field(
            title="Tokenizer directory",
            description=(
                "Directory of a Hugging Face tokenizer (tokenizer.json, tokenizer_config.json). "
                "Default: the tokenizer saved with the model."
            ),
            examples=["gs://my-bucket/models/sst2/"],
        ),
        ConsoleForm(group=MODEL_GROUP, param_type="GCS_READ_FOLDER", regexes=(GCS_PATH,)),
    ] = None

    threshold: Annotated[
        float,
        Field(
            ge=0,
            le=1,
            title="Multi-label threshold",
            description=(
                "Multi-label models (problem_type multi_label_classification) answer every "
                "label whose sigmoid probability is at or above this value, in the prediction's "
                "labels list. Single-label models ignore it."
            ),
            examples=[0.5],
        ),
        ConsoleForm(
            group=MODEL_GROUP, param_type="NUMBER", regexes=(r"^(0([.][0-9]*)?|1([.]0*)?)$",)
        ),
    ] = DEFAULT_THRESHOLD

    model_watch_pattern: Annotated[
        str | None,
        Field(
            title="Model watch pattern",
            description=(
                "Streaming jobs: a file pattern watched for new models of the kind being served "
                "(*.onnx with onnx_path, *.plan with engine_path). The newest matching file is "
                "checked as at launch, loaded, and only then takes over; a file that fails is "
                "refused with a logged reason and the current model keeps serving. Upload a "
                "model's bundle files or sidecar and tokenizer first, the model file last, "
                "under a new name each time."
            ),
            examples=["gs://my-bucket/engines/*.plan"],
        ),
        ConsoleForm(group=MODEL_GROUP, regexes=(GCS_PATH,), modes=STREAMING_ONLY),
    ] = None

    model_watch_interval_secs: Annotated[
        float | None,
        Field(
            gt=0,
            le=86400,
            title="Model watch interval (seconds)",
            description=(
                "How often model_watch_pattern is matched for a new model. Default: 60 seconds."
            ),
            examples=[60],
        ),
        ConsoleForm(
            group=MODEL_GROUP,
            param_type="NUMBER",
            regexes=(r"^([0-9]+([.][0-9]*)?|[.][0-9]+)$",),
            modes=STREAMING_ONLY,
        ),
    ] = None

    max_seq_length: Annotated[
        int,
        Field(
            ge=MIN_SEQUENCE_LENGTH,
            le=MAX_SUPPORTED_SEQUENCE_LENGTH,
            title="Maximum sequence length",
            description=(
                "Tokens per record, special tokens included; longer records are truncated "
                "and counted. At least 3 (BERT's two special tokens and one word), at most "
                "the model's limit."
            ),
            examples=[128],
        ),
        ConsoleForm(
            group=BATCHING_GROUP,
            param_type="NUMBER",
            regexes=(r"^([3-9]|[1-9][0-9]{1,2})$",),
        ),
    ] = 128

    min_batch_size: Annotated[
        int,
        Field(
            ge=1,
            title="Minimum batch size",
            description="Smallest batch RunInference forms before it waits for more records.",
            examples=[1],
        ),
        ConsoleForm(group=BATCHING_GROUP, param_type="NUMBER", regexes=(r"^[1-9][0-9]{0,4}$",)),
    ] = 1

    max_batch_size: Annotated[
        int,
        Field(
            ge=1,
            le=4096,
            title="Maximum batch size",
            description="Largest batch sent to the model in one call.",
            examples=[64],
        ),
        ConsoleForm(group=BATCHING_GROUP, param_type="NUMBER", regexes=(r"^[1-9][0-9]{0,3}$",)),
    ] = 64

    max_batch_duration_secs: Annotated[
        float | None,
        Field(
            gt=0,
            le=3600,
            title="Maximum batch wait (seconds)",
            description=(
                "Longest a partial batch waits for more records before it is sent (bounds "
                "latency in streaming jobs when traffic is thin). Default: 1 second in "
                "streaming jobs, unset (bundle-based batching) in batch jobs."
            ),
            examples=[1.0],
        ),
        ConsoleForm(
            group=BATCHING_GROUP,
            param_type="NUMBER",
            regexes=(r"^([0-9]+([.][0-9]*)?|[.][0-9]+)$",),
        ),
    ] = None

    accelerator: Annotated[
        str | None,
        Field(
            title="GPU accelerator",
            description=(
                "GPUs of each worker, in Dataflow's worker_accelerator syntax: "
                "type:GPU_TYPE;count:N;install-nvidia-driver. Needed with engine_path. "
                "GPU types: nvidia-tesla-t4, nvidia-l4, nvidia-tesla-a100, nvidia-a100-80gb, "
                "nvidia-h100-80gb, nvidia-h100-mega-80gb, nvidia-rtx-pro-6000. The image is "
                "CUDA 12 (driver 525.60.13 or newer); RTX PRO 6000 needs "
                "install-nvidia-driver:latest."
            ),
            examples=["type:nvidia-l4;count:1;install-nvidia-driver"],
        ),
        ConsoleForm(group=WORKERS_GROUP, regexes=(ACCELERATOR_REGEX,)),
    ] = None

    machine_type: Annotated[
        str | None,
        Field(
            title="Worker machine type",
            description=(
                "Compute Engine machine type of the workers. Default with an accelerator: "
                "one that fits the GPU (g2-standard-8 for one L4, n1-standard-8 for one T4, "
                "a2-highgpu-1g for one A100, ...)."
            ),
            examples=["g2-standard-8"],
        ),
        ConsoleForm(group=WORKERS_GROUP, param_type="MACHINE_TYPE", regexes=(MACHINE_TYPE_REGEX,)),
    ] = None

    sdk_container_image: Annotated[
        str | None,
        Field(
            title="Worker container image",
            description=(
                "Container image of the workers. Default: the image this template was "
                "built with (the launcher image), so launcher and workers run the same code."
            ),
            examples=["us-central1-docker.pkg.dev/my-project/dataflow/trt-text-classifier:v1"],
        ),
        ConsoleForm(group=WORKERS_GROUP, regexes=(CONTAINER_IMAGE_REGEX,)),
    ] = None

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
        self._check_model_watch()
        if self.text_field == self.id_field:
            raise ValueError(
                f"--text_field / --id_field: both name {self.text_field!r}; the text and the "
                "id must be different fields"
            )
        if self.min_batch_size > self.max_batch_size:
            raise ValueError(
                f"--min_batch_size={self.min_batch_size} is larger than "
                f"--max_batch_size={self.max_batch_size}; lower the minimum or raise the maximum"
            )
        return self

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
        """Beam's file sink deletes PREFIX-*-of-NNNNN.jsonl before it writes: no wildcards, no overlap."""
        prefixes = {"output": self.output, "dead_letter_output": self.resolved_dead_letter_output}
        for name, prefix in prefixes.items():
            wildcard = next((char for char in OUTPUT_WILDCARDS if char in (prefix or "")), None)
            if wildcard:
                raise ValueError(
                    f"--{name}={prefix!r}: contains the wildcard {wildcard!r}; an output is a "
                    "plain prefix such as gs://bucket/out/predictions"
                )
        if self.output and prefixes_overlap(self.output, self.resolved_dead_letter_output):
            raise ValueError(
                f"--dead_letter_output={self.resolved_dead_letter_output!r}: overlaps "
                f"--output={self.output!r} (writing one would delete the other's files); "
                "give prefixes where neither is the other followed by '-'"
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
            close = closest(f"--{unknown[0]}", [f"--{name}" for name in cls.model_fields])
            raise ParameterError(
                f"--{unknown[0]}: unknown parameter; "
                + (f"did you mean {close}?" if close else "known parameters are ")
                + ("" if close else ", ".join(cls.model_fields))
            )
        try:
            return cls.model_validate(present)
        except ValidationError as error:
            raise ParameterError(describe_validation_error(error)) from None


def closest(name: str, candidates: Sequence[str]) -> str | None:
    """The candidate `name` is most likely a misspelling of, if any is close."""
    matches = difflib.get_close_matches(name, candidates, n=1, cutoff=0.75)
    return matches[0] if matches else None


def check_not_repeated(argv: Sequence[str]) -> None:
    """A parameter given twice would silently keep only its last value: refuse it."""
    counts = collections.Counter(arg[2:].split("=", 1)[0] for arg in argv if arg.startswith("--"))
    for name in PipelineParameters.model_fields:
        if counts[name] > 1:
            hint = (
                " (one file pattern per run: a wildcard such as gs://bucket/dir/*.txt reads "
                "several files)"
                if name == "input"
                else ""
            )
            raise ParameterError(f"--{name}: given {counts[name]} times; give it once{hint}")


def describe_validation_error(error: ValidationError) -> str:
    """One line for the first problem: the parameter, the bad value, what is allowed."""
    first = error.errors(include_url=False)[0]
    message = first["msg"].removeprefix("Value error, ")
    if not first["loc"] or message.startswith("--"):
        return message
    name = str(first["loc"][0])
    if first["type"] == "string_pattern_mismatch" and name in PipelineParameters.model_fields:
        example = PipelineParameters.model_fields[name].examples[0]
        message = (
            f"not a valid {PipelineParameters.model_fields[name].title}; expected e.g. {example}"
        )
    return f"--{name}={first['input']!r}: {message}"


def parameter_names() -> list[str]:
    return list(PipelineParameters.model_fields)


def console_form(name: str) -> ConsoleForm:
    """The `ConsoleForm` annotation of a parameter."""
    for item in PipelineParameters.model_fields[name].metadata:
        if isinstance(item, ConsoleForm):
            return item
    raise LookupError(f"parameter {name} has no ConsoleForm annotation")


def parse_pipeline_args(argv: Sequence[str]) -> tuple[PipelineParameters, list[str]]:
    """Split argv into the pipeline's parameters and Beam's own options.

    Uses `parse_known_args`: the Flex Template launcher appends flags of its
    own, and every Beam/Dataflow option must reach `PipelineOptions`.
    """
    check_not_repeated(argv)
    parser = argparse.ArgumentParser(allow_abbrev=False, add_help=False)
    for name, field in PipelineParameters.model_fields.items():
        parser.add_argument(f"--{name}", default=None, help=field.description)
    known, beam_args = parser.parse_known_args(list(argv))
    return PipelineParameters.from_strings(vars(known)), beam_args
