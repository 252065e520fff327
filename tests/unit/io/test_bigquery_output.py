"""BigQuery output: the row schema and the write's configuration.

No BigQuery emulator exists here, so nothing is written: these tests check the
rows against the schema and the WriteToBigQuery transform the pipeline builds.
"""

from __future__ import annotations

import json

import pytest
from apache_beam.io.gcp.bigquery import WriteToBigQuery
from apache_beam.io.gcp.bigquery_tools import get_bq_tableschema

from support.pipeline_graph import built_graph
from trt_text_classifier.io.bigquery import (
    PREDICTION_SCHEMA,
    prediction_row,
    rejected_row_to_dead_letter,
)
from trt_text_classifier.launch.parameters import PipelineParameters
from trt_text_classifier.records import DeadLetter, Prediction

PREDICTION = Prediction(
    "gs://b/in/a.txt:3",
    "Great cast.",
    "positive",
    0.75,
    {"negative": 0.25, "positive": 0.75},
    "model.onnx@3f2a9c1b7d0e",
    {"customer": {"id": 12345678901234567890}, "tags": ["a", "b"], "rating": 4.5},
)
FIELDS_JSON = '{"customer": {"id": 12345678901234567890}, "tags": ["a", "b"], "rating": 4.5}'
PYTHON_TYPES = {"STRING": str, "FLOAT": float}


@pytest.mark.parametrize(
    ("streaming", "fields"),
    [(True, FIELDS_JSON), (False, json.loads(FIELDS_JSON))],
    ids=["streaming inserts: JSON text", "file loads: the object"],
)
def test_row_follows_the_schema_field_by_field(streaming: bool, fields: object) -> None:
    row = prediction_row(PREDICTION, streaming=streaming)
    assert row == {
        "id": "gs://b/in/a.txt:3",
        "text": "Great cast.",
        "label": "positive",
        "score": 0.75,
        "probabilities": [
            {"label": "negative", "probability": 0.25},
            {"label": "positive", "probability": 0.75},
        ],
        "model": "model.onnx@3f2a9c1b7d0e",
        "fields": fields,
        "labels": [],
    }
    assert_matches_schema(row, PREDICTION_SCHEMA["fields"])


def test_a_multi_label_row_lists_its_labels() -> None:
    multi = PREDICTION._replace(labels=["positive"])
    assert prediction_row(multi, streaming=True)["labels"] == ["positive"]
    assert_matches_schema(prediction_row(multi, streaming=True), PREDICTION_SCHEMA["fields"])


def assert_matches_schema(row: dict, fields: list[dict]) -> None:
    assert set(row) == {field["name"] for field in fields}
    for field in fields:
        value = row[field["name"]]
        if field["type"] == "JSON":
            assert isinstance(value, str | dict)
        elif field["mode"] == "REPEATED" and field["type"] == "RECORD":
            assert isinstance(value, list)
            for item in value:
                assert_matches_schema(item, field["fields"])
        elif field["mode"] == "REPEATED":
            assert all(isinstance(item, PYTHON_TYPES[field["type"]]) for item in value)
        else:
            assert isinstance(value, PYTHON_TYPES[field["type"]]), field["name"]


def test_schema_holds_every_prediction_field_and_parses() -> None:
    # Pub/Sub attributes travel as message attributes only, never into a row.
    written = [name for name in Prediction._fields if name != "attributes"]
    assert [field["name"] for field in PREDICTION_SCHEMA["fields"]] == written
    table_schema = get_bq_tableschema(PREDICTION_SCHEMA)
    assert [field.name for field in table_schema.fields] == written
    assert {field.name: field.type for field in table_schema.fields}["fields"] == "JSON"


def test_rejected_row_becomes_a_dead_letter_with_bigquery_errors() -> None:
    errors = [{"reason": "invalid", "message": "no such field: colour"}]
    row = prediction_row(PREDICTION, streaming=True)
    dead_letter = rejected_row_to_dead_letter(("p:d.t", row, errors))
    assert dead_letter == DeadLetter(
        "gs://b/in/a.txt:3",
        "Great cast.",
        f"BigQuery rejected the row: {errors}",
        "bigquery",
        PREDICTION.fields,
    )
    assert dead_letter.to_json().endswith(f'"fields": {FIELDS_JSON}}}')


@pytest.mark.parametrize(
    ("inputs", "method", "rejected_rows_dead_lettered"),
    [
        (
            {"input": "gs://b/in/*.txt", "dead_letter_output": "gs://b/dead/p"},
            WriteToBigQuery.Method.FILE_LOADS,
            False,
        ),
        (
            {
                "input_subscription": "projects/my-project/subscriptions/reviews",
                "dead_letter_topic": "projects/my-project/topics/dead",
            },
            WriteToBigQuery.Method.STREAMING_INSERTS,
            True,
        ),
    ],
)
def test_pipeline_writes_the_table_with_the_chosen_method(
    inputs: dict[str, str], method: str, rejected_rows_dead_lettered: bool
) -> None:
    params = PipelineParameters(
        **inputs, output_table="my-project:reviews.predictions", onnx_path="m/model.onnx"
    )

    graph = built_graph(params)

    [write] = graph.writes
    assert write.method == method
    assert (
        write.table_reference.projectId,
        write.table_reference.datasetId,
        write.table_reference.tableId,
    ) == ("my-project", "reviews", "predictions")
    assert write.schema == PREDICTION_SCHEMA
    assert write.create_disposition == "CREATE_IF_NEEDED"
    assert write.write_disposition == "WRITE_APPEND"
    assert ("RejectedRows" in graph.labels) == rejected_rows_dead_lettered
