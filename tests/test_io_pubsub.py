"""The streaming pipeline on the DirectRunner against the Pub/Sub emulator.

N messages go in, some of them malformed; exactly N messages come out (on the
predictions topic or the dead-letter topic), each id once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest

from emulators import PubsubEmulator
from fault_injection import POISON
from pipeline_outputs import assert_each_record_once
from trt_text_classifier.cli import main

RESULT_DEADLINE_SECS = 90.0
TESTS_DIRECTORY = Path(__file__).resolve().parent
TEMPLATE_DIRECTORY = TESTS_DIRECTORY.parent / "template"


def start_cli(arguments: list[str]) -> subprocess.Popen:
    """`trt-text-classifier run ...` in its own process group (a streaming job runs until stopped).

    A subprocess, because stopping a process is deterministic and immediate,
    while the DirectRunner's `cancel()` waits for its pollers to wind down.
    """
    return start_process(["-m", "trt_text_classifier", "run", *arguments])


def start_faulty_job(arguments: list[str]) -> subprocess.Popen:
    """The same job with the faulty backend of `fault_injection` (tests/faulty_streaming_job.py)."""
    return start_process([str(TESTS_DIRECTORY / "faulty_streaming_job.py"), *arguments])


def start_process(arguments: list[str], stderr: IO[str] | None = None) -> subprocess.Popen:
    """`stderr`: a file that receives the job's log (default: the test's own stderr)."""
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(TEMPLATE_DIRECTORY), str(TESTS_DIRECTORY)]),
    }
    return subprocess.Popen(
        [sys.executable, *arguments], env=environment, start_new_session=True, stderr=stderr
    )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@dataclass(frozen=True)
class StreamingTopics:
    """Input, output and dead-letter topics of one streaming test, with a subscription each."""

    inputs: str
    subscription: str
    outputs: str
    output_subscription: str
    dead_letters: str
    dead_letter_subscription: str

    def job_arguments(self) -> list[str]:
        return [
            f"--input_subscription={self.subscription}",
            f"--output_topic={self.outputs}",
            f"--dead_letter_topic={self.dead_letters}",
        ]


def create_streaming_topics(emulator: PubsubEmulator, prefix: str) -> StreamingTopics:
    """Fresh topics, and a subscription to each, named PREFIXin-RUN, PREFIXout-RUN, PREFIXdead-RUN."""
    run = uuid.uuid4().hex[:8]
    paths = {}
    for role in ("in", "out", "dead"):
        topic = emulator.create_topic(f"{prefix}{role}-{run}")
        paths[role] = (topic, emulator.create_subscription(f"{prefix}{role}-{run}", topic))
    return StreamingTopics(*paths["in"], *paths["out"], *paths["dead"])


def publish(emulator: PubsubEmulator, topic: str, data: bytes, **attributes: str) -> str:
    """Publish one message; return its Pub/Sub message id."""
    from google.cloud import pubsub_v1

    return pubsub_v1.PublisherClient().publish(topic, data, **attributes).result(timeout=30)


def pull_until(
    subscriptions: list[str], expected: int, deadline_secs: float, pipeline: subprocess.Popen
) -> dict[str, list[tuple[dict, dict]]]:
    """Pull from every subscription until `expected` messages arrived in all.

    Stops early at the deadline or when the pipeline process has exited.
    """
    from google.api_core.exceptions import DeadlineExceeded
    from google.cloud import pubsub_v1

    received: dict[str, list[tuple[dict, dict]]] = {name: [] for name in subscriptions}
    deadline = time.monotonic() + deadline_secs
    with pubsub_v1.SubscriberClient() as subscriber:
        while (
            sum(map(len, received.values())) < expected
            and time.monotonic() < deadline
            and pipeline.poll() is None
        ):
            for name in subscriptions:
                try:
                    response = subscriber.pull(subscription=name, max_messages=100, timeout=1.0)
                except DeadlineExceeded:
                    continue
                if not response.received_messages:
                    time.sleep(0.1)
                    continue
                for item in response.received_messages:
                    message = item.message
                    received[name].append((json.loads(message.data), dict(message.attributes)))
                subscriber.acknowledge(
                    subscription=name,
                    ack_ids=[item.ack_id for item in response.received_messages],
                )
    return received


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
