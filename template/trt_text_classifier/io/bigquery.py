"""Predictions to a BigQuery table: the row schema and how rows are written.

Write method, chosen per job type:

- batch jobs: FILE_LOADS. Rows are staged as files under the job's
  temp_location and loaded by BigQuery load jobs: free (no per-row ingestion
  price), atomic per load, no streaming quotas. A load that fails fails the
  job, loudly.
- streaming jobs: STREAMING_INSERTS (tabledata.insertAll). Rows are visible
  within seconds; Beam sends an insert id per row, which BigQuery uses for
  best-effort deduplication of retried inserts. Rows BigQuery rejects for
  good (schema errors) come back from the write and become dead letters, so
  none is lost silently.

Why not the Storage Write API: in the Python SDK it is a cross-language
transform: building the pipeline starts a Java expansion service (a jar
fetched from Maven Central) on the machine that launches the job. A Flex
Template launcher image would then need a JVM and network access to Maven at
launch, exactly the kind of launch-time dependency that makes templates slow
and fragile. It is the better choice (cheaper, exactly-once) for a pipeline
launched from an environment that has Java; switching is a one-line change of
`write_method`.

The table is created if needed (CREATE_IF_NEEDED, with `PREDICTION_SCHEMA`)
and rows are appended (WRITE_APPEND).
"""

from __future__ import annotations

import functools
import json
from typing import Any

import apache_beam as beam
from apache_beam.io.gcp.bigquery import BigQueryDisposition, RetryStrategy, WriteToBigQuery

from trt_text_classifier.io.json_records import loads_exact
from trt_text_classifier.records import DeadLetter, Prediction, fields_json

BIGQUERY_STAGE = "bigquery"

PREDICTION_SCHEMA: dict[str, Any] = {
    "fields": [
        {"name": "id", "type": "STRING", "mode": "REQUIRED"},
        {"name": "text", "type": "STRING", "mode": "NULLABLE"},
        {"name": "label", "type": "STRING", "mode": "REQUIRED"},
        {"name": "score", "type": "FLOAT", "mode": "REQUIRED"},
        {
            "name": "probabilities",
            "type": "RECORD",
            "mode": "REPEATED",
            "fields": [
                {"name": "label", "type": "STRING", "mode": "REQUIRED"},
                {"name": "probability", "type": "FLOAT", "mode": "REQUIRED"},
            ],
        },
        {"name": "model", "type": "STRING", "mode": "NULLABLE"},
        {"name": "fields", "type": "JSON", "mode": "NULLABLE"},
        {"name": "labels", "type": "STRING", "mode": "REPEATED"},
    ]
}
"""One row per prediction. `probabilities` is a repeated record (label,
probability) rather than a JSON column: it stays queryable with UNNEST and
does not change when a model has other labels. `model` is NULLABLE so that a
table created before it existed takes it with `ALTER TABLE ... ADD COLUMN`;
`fields` likewise.
`labels` holds a multi-label model's labels at or above the threshold (empty
for single-label models: a REPEATED column is never NULL). `fields` (the input record's other JSON fields) is a JSON
column: queryable with `JSON_VALUE(fields.customer_id)` whatever the fields
are. Its numbers follow BigQuery's JSON type (FLOAT64 unless integral)."""


def prediction_row(prediction: Prediction, *, streaming: bool) -> dict[str, Any]:
    """A prediction as a row of `PREDICTION_SCHEMA`.

    The JSON column's value differs by write method: streaming inserts take
    JSON text; file loads take the object itself (Beam writes the row as one
    JSON line, and a string there would be loaded as a JSON string).
    """
    fields = fields_json(prediction.fields)
    return {
        "id": prediction.id,
        "text": prediction.text,
        "label": prediction.label,
        "score": prediction.score,
        "probabilities": [
            {"label": label, "probability": probability}
            for label, probability in prediction.probabilities.items()
        ],
        "model": prediction.model,
        "fields": fields if streaming else json.loads(fields),
        "labels": list(prediction.labels or ()),
    }


def write_method(streaming: bool) -> str:
    """See the module docstring for why."""
    if streaming:
        return WriteToBigQuery.Method.STREAMING_INSERTS
    return WriteToBigQuery.Method.FILE_LOADS


def make_write(table: str, *, streaming: bool) -> WriteToBigQuery:
    return WriteToBigQuery(
        table,
        schema=PREDICTION_SCHEMA,
        method=write_method(streaming),
        create_disposition=BigQueryDisposition.CREATE_IF_NEEDED,
        write_disposition=BigQueryDisposition.WRITE_APPEND,
        insert_retry_strategy=RetryStrategy.RETRY_ON_TRANSIENT_ERROR,
    )


def rejected_row_to_dead_letter(failure: tuple[str, dict[str, Any], list[Any]]) -> DeadLetter:
    """A row BigQuery rejected (streaming inserts) as a dead letter with BigQuery's errors."""
    _, row, errors = failure
    return DeadLetter(
        str(row.get("id", "")),
        str(row.get("text", "")),
        f"BigQuery rejected the row: {errors}",
        BIGQUERY_STAGE,
        loads_exact(row.get("fields") or "{}"),
    )


def write_predictions(
    predictions: beam.PCollection, table: str, *, streaming: bool
) -> beam.PCollection | None:
    """Write rows to `table`; with streaming inserts, return the rejected rows as dead letters."""
    result = (
        predictions
        | "ToBigQueryRows" >> beam.Map(functools.partial(prediction_row, streaming=streaming))
        | "WriteBigQuery" >> make_write(table, streaming=streaming)
    )
    if not streaming:
        return None
    return result.failed_rows_with_errors | "RejectedRows" >> beam.Map(rejected_row_to_dead_letter)
