"""Streaming jobs in their own processes, and the Pub/Sub topics they read and write.

The job processes get template/ and tests/ on PYTHONPATH, so scripts under
tests/support/ (e.g. faulty_streaming_job.py) import `support.*` as the tests do.
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
from typing import IO

from support.emulators import PubsubEmulator
from support.repository import SUPPORT, TEMPLATE, TESTS

RESULT_DEADLINE_SECS = 90.0


def start_cli(arguments: list[str]) -> subprocess.Popen:
    """`trt-text-classifier run ...` in its own process group (a streaming job runs until stopped).

    A subprocess, because stopping a process is deterministic and immediate,
    while the DirectRunner's `cancel()` waits for its pollers to wind down.
    """
    return start_process(["-m", "trt_text_classifier", "run", *arguments])


def start_faulty_job(arguments: list[str]) -> subprocess.Popen:
    """The same job with the faulty backend of `fault_injection` (tests/support/faulty_streaming_job.py)."""
    return start_process([str(SUPPORT / "faulty_streaming_job.py"), *arguments])


def start_process(arguments: list[str], stderr: IO[str] | None = None) -> subprocess.Popen:
    """`stderr`: a file that receives the job's log (default: the test's own stderr)."""
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(TEMPLATE), str(TESTS)]),
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
