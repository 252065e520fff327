"""The launch parameters that say where records come from and where results go.

The Input and Output groups of the Console form. Each field carries, besides its type and
constraints, a pydantic `title` (the form's label) and `description` (help text), `examples`,
and a `ConsoleForm` annotation (see `console_form.py`). `PipelineParameters` (parameters.py)
joins the groups and checks how the fields relate; field order here is the form's order.
"""

from __future__ import annotations

import enum
from typing import Annotated

from pydantic import BaseModel, Field

from trt_text_classifier.launch.console_form import (
    BATCH_ONLY,
    BIGQUERY_TABLE_SPEC,
    GCS_PATH,
    INPUT_GROUP,
    JSON_FIELD_NAME,
    OUTPUT_GROUP,
    PUBSUB_SUBSCRIPTION_PATH,
    PUBSUB_TOPIC_PATH,
    STREAMING_ONLY,
    ConsoleForm,
)


class InputFormat(enum.Enum):
    """How input files hold records: one text per line, or one JSON object per line."""

    TEXT = "text"
    JSONL = "jsonl"


DEFAULT_WINDOW_SECS = 60
"""Window of a streaming job's output files when window_secs is not given."""


class InputFields(BaseModel):
    """Where the records come from and how they are read."""

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


class OutputFields(BaseModel):
    """Where predictions and dead letters go."""

    output: Annotated[
        str | None,
        Field(
            title="Output prefix",
            description=(
                "Prefix of the JSON Lines prediction files (not a folder: no trailing /); "
                "batch jobs write PREFIX-RUNID-SSSSS-of-NNNNN.jsonl, streaming jobs one set of "
                "shards per window: PREFIX-RUNID-WINDOWSTART-WINDOWEND-SSSSS-of-NNNNN.jsonl "
                "(see window_secs). RUNID is unique to the run and printed at its end."
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
