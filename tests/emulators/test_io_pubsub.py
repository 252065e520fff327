"""The streaming pipeline on the DirectRunner against the Pub/Sub emulator.

N messages go in, some of them malformed; exactly N messages come out (on the
predictions topic or the dead-letter topic), each id once.
"""

from __future__ import annotations

import json
import uuid

import pytest

from support.emulators import PubsubEmulator
from support.fault_injection import POISON
from support.pipeline_outputs import assert_each_record_once
from support.streaming_jobs import (
    RESULT_DEADLINE_SECS,
    create_streaming_topics,
    publish,
    pull_until,
    start_cli,
    start_faulty_job,
    stop,
)
from trt_text_classifier.cli import main


def test_streaming_pipeline_classifies_every_message_once(
    pubsub_emulator: PubsubEmulator, demo_onnx: str
) -> None:
    topics = create_streaming_topics(pubsub_emulator, "")
    inputs, output_sub = topics.inputs, topics.output_subscription
    dead_sub = topics.dead_letter_subscription

    pipeline = start_cli(
        [
            *topics.job_arguments(),
            f"--onnx_path={demo_onnx}",
            "--runner=DirectRunner",
        ]
    )
    try:
        plain_id = publish(pubsub_emulator, inputs, b"A warm and funny film.")
        publish(pubsub_emulator, inputs, json.dumps({"id": "r-1", "text": "Dull."}).encode())
        publish(pubsub_emulator, inputs, json.dumps({"id": 7, "text": "Fine cast."}).encode())
        publish(pubsub_emulator, inputs, b'{"text": "Wooden acting."}', id="attr-1")
        publish(pubsub_emulator, inputs, b"Great \xff ending", id="bad-utf8")
        publish(pubsub_emulator, inputs, b'{"id": "bad-json", "text": ', id="bad-json")
        publish(pubsub_emulator, inputs, b"   ", id="blank")
        publish(pubsub_emulator, inputs, b'{"id": "no-text"}', id="no-text")
        publish(pubsub_emulator, inputs, b'{"id": "surrogate", "text": "\\ud800"}')
        received = pull_until([output_sub, dead_sub], 9, RESULT_DEADLINE_SECS, pipeline)
    finally:
        stop(pipeline)

    predictions = [body for body, _ in received[output_sub]]
    dead_letters = [body for body, _ in received[dead_sub]]
    assert sorted(row["id"] for row in predictions) == sorted([plain_id, "r-1", "7", "attr-1"])
    assert {row["id"]: row["stage"] for row in dead_letters} == {
        "bad-utf8": "parse",
        "bad-json": "parse",
        "blank": "parse",
        "no-text": "parse",
        "surrogate": "parse",
    }
    assert_each_record_once(
        [plain_id, "r-1", "7", "attr-1", "bad-utf8", "bad-json", "blank", "no-text", "surrogate"],
        predictions,
        dead_letters,
    )
    for body, attributes in received[output_sub] + received[dead_sub]:
        assert attributes == {"id": body["id"]}


@pytest.mark.parametrize("missing", ["input_subscription", "output_topic", "dead_letter_topic"])
def test_missing_pubsub_resources_fail_at_launch(
    pubsub_emulator: PubsubEmulator,
    demo_onnx: str,
    missing: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run = uuid.uuid4().hex[:8]
    topic = pubsub_emulator.create_topic(f"exists-{run}")
    values = {
        "input_subscription": pubsub_emulator.create_subscription(f"exists-{run}", topic),
        "output_topic": topic,
        "dead_letter_topic": topic,
    }
    kind = "subscriptions" if missing == "input_subscription" else "topics"
    values[missing] = f"projects/{pubsub_emulator.project}/{kind}/missing-{run}"

    status = main(
        [
            "run",
            *(f"--{name}={value}" for name, value in values.items()),
            f"--onnx_path={demo_onnx}",
        ]
    )

    assert status == 2
    what = "subscription" if missing == "input_subscription" else "topic"
    assert capsys.readouterr().err.startswith(
        f"error: --{missing}={values[missing]!r}: no such {what}; create it with `gcloud pubsub"
    )


def test_failed_inferences_go_to_the_dead_letter_topic(
    pubsub_emulator: PubsubEmulator, demo_onnx: str
) -> None:
    topics = create_streaming_topics(pubsub_emulator, "f")
    inputs, output_sub = topics.inputs, topics.output_subscription
    dead_sub = topics.dead_letter_subscription
    texts = {"ok-1": "A warm film.", "bad-1": f"A {POISON} film.", "ok-2": "Dull.", "bad-2": POISON}

    pipeline = start_faulty_job(
        [
            *topics.job_arguments(),
            f"--onnx_path={demo_onnx}",
            "--max_batch_size=1",
            "--max_batch_duration_secs=0.5",
            "--runner=DirectRunner",
        ]
    )
    try:
        for record_id, text in texts.items():
            publish(pubsub_emulator, inputs, json.dumps({"id": record_id, "text": text}).encode())
        received = pull_until([output_sub, dead_sub], len(texts), RESULT_DEADLINE_SECS, pipeline)
    finally:
        stop(pipeline)

    predictions = [body for body, _ in received[output_sub]]
    dead_letters = [body for body, _ in received[dead_sub]]
    assert sorted(row["id"] for row in predictions) == ["ok-1", "ok-2"]
    assert sorted((row["id"], row["stage"], row["input"]) for row in dead_letters) == [
        ("bad-1", "inference", texts["bad-1"]),
        ("bad-2", "inference", texts["bad-2"]),
    ]
    for row in dead_letters:
        assert "injected fault: the accelerator rejected this batch" in row["error"]
    assert_each_record_once(texts, predictions, dead_letters)


def test_fields_and_attributes_travel_through_the_streaming_job(
    pubsub_emulator: PubsubEmulator, demo_onnx: str
) -> None:
    topics = create_streaming_topics(pubsub_emulator, "attr")
    output_sub, dead_sub = topics.output_subscription, topics.dead_letter_subscription
    pipeline = start_cli(
        [
            *topics.job_arguments(),
            f"--onnx_path={demo_onnx}",
            "--text_field=body",
            "--id_field=key",
            "--runner=DirectRunner",
        ]
    )
    good = '{"key": "k-1", "body": "A warm film.", "customer": {"id": 12345678901234567890}, "score": 4.50}'
    bad = '{"key": "k-2", "body": "   ", "customer": {"id": 7}, "tags": ["x", null]}'
    try:
        publish(pubsub_emulator, topics.inputs, good.encode(), tenant="acme", trace="t-1")
        publish(pubsub_emulator, topics.inputs, bad.encode(), tenant="acme", id="ignored")
        publish(pubsub_emulator, topics.inputs, b"Plain text, no fields.", tenant="beta")
        received = pull_until([output_sub, dead_sub], 3, RESULT_DEADLINE_SECS, pipeline)
    finally:
        stop(pipeline)

    predictions = {body["id"]: (body, attributes) for body, attributes in received[output_sub]}
    ((dead_letter, dead_attributes),) = received[dead_sub]
    body, attributes = predictions["k-1"]
    assert body["fields"] == {"customer": {"id": 12345678901234567890}, "score": 4.5}
    assert attributes == {"tenant": "acme", "trace": "t-1", "id": "k-1"}
    (plain_id,) = set(predictions) - {"k-1"}
    assert predictions[plain_id][0]["fields"] == {}
    assert predictions[plain_id][1] == {"tenant": "beta", "id": plain_id}
    assert (dead_letter["id"], dead_letter["stage"]) == ("k-2", "parse")
    assert dead_letter["fields"] == {"customer": {"id": 7}, "tags": ["x", None]}
    assert dead_attributes == {"tenant": "acme", "id": "k-2"}
