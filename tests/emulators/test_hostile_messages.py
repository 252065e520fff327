"""Hostile Pub/Sub messages (issue 19, section 2): each one ends as exactly one prediction or
one dead letter, is acked, and never keeps the good messages of its bundle from an answer.

Random mixes (fixed seeds) of good messages and hostile ones: lone low surrogate escapes
(\\udc00-\\udcff) in the text, a key, another field or the id, JSON nested 450 levels deep,
invalid UTF-8, NUL, CR, empty and blank payloads, zero-width-only text, a 1 MB text.
"""

from __future__ import annotations

import json
import random

import pytest

from support.emulators import PubsubEmulator
from support.pipeline_outputs import assert_each_record_once
from support.streaming_jobs import (
    RESULT_DEADLINE_SECS,
    create_streaming_topics,
    publish,
    pull_until,
    start_cli,
    stop,
)

DEEP = b"[" * 450 + b"]" * 450
KINDS = [
    "good",
    "good-json",
    "surrogate-text",
    "surrogate-key",
    "surrogate-field",
    "surrogate-id",
    "deep",
    "deep-text",
    "bytes",
    "nul",
    "cr",
    "cr-json",
    "empty",
    "blank",
    "zero-width",
    "huge",
]


def hostile_message(kind: str, message: str, rng: random.Random) -> tuple[bytes, str]:
    """(payload, the id its one outcome carries) for a message whose `id` attribute is `message`."""
    low = f"\\udc{rng.randrange(256):02x}"
    if kind == "surrogate-id":  # an id that cannot be read: the message's id attribute
        return f'{{"id": "{message}{low}", "text": "x"}}'.encode(), message
    payloads = {
        "good": f"a warm and funny film {message}".encode(),
        "good-json": json.dumps({"text": f"a dull film {message}", "n": -0}).encode(),
        "surrogate-text": f'{{"text": "a {low} b"}}'.encode(),
        "surrogate-key": f'{{"text": "x", "k{low}": 1}}'.encode(),
        "surrogate-field": f'{{"text": "x", "other": "{low}"}}'.encode(),
        "deep": b'{"text": "x", "nested": ' + DEEP + b"}",
        "deep-text": b"[" * 500,
        "bytes": b"caf\xe9 \xff\xfe film",
        "nul": b"\x00 film \x00",
        "cr": b"good \r film",
        "cr-json": b'{"text":\r"a film"}\r',
        "empty": b"",
        "blank": b" \t\n ",
        "zero-width": "\u200b\u200b\u200b".encode(),
        "huge": b"long " * 200_000,
    }
    return payloads[kind], message


@pytest.mark.parametrize("seed", [1, 2])
def test_every_hostile_message_is_one_outcome_and_acked(
    pubsub_emulator: PubsubEmulator, demo_onnx: str, seed: int
) -> None:
    rng = random.Random(seed)
    topics = create_streaming_topics(pubsub_emulator, f"h{seed}")
    output_sub, dead_sub = topics.output_subscription, topics.dead_letter_subscription
    kinds = [*KINDS, *(rng.choice(KINDS) for _ in range(24))]
    rng.shuffle(kinds)
    pipeline = start_cli(
        [*topics.job_arguments(), f"--onnx_path={demo_onnx}", "--runner=DirectRunner"]
    )
    try:
        expected = []
        for number, kind in enumerate(kinds):
            payload, outcome_id = hostile_message(kind, f"m{seed}-{number}-{kind}", rng)
            publish(pubsub_emulator, topics.inputs, payload, id=f"m{seed}-{number}-{kind}")
            expected.append(outcome_id)
        received = pull_until([output_sub, dead_sub], len(kinds), RESULT_DEADLINE_SECS, pipeline)
        # Acked: nothing comes back once the emulator's ack deadline (10 s) has passed.
        again = pull_until([output_sub, dead_sub], 1, 20.0, pipeline)
        healthy = pipeline.poll() is None
    finally:
        stop(pipeline)

    assert healthy, "the streaming job exited"
    predictions = [body for body, _ in received[output_sub]]
    dead_letters = [body for body, _ in received[dead_sub]]
    produced = {row["id"] for row in predictions + dead_letters}
    assert set(expected) == produced, (sorted(set(expected) - produced), produced - set(expected))
    assert_each_record_once(expected, predictions, dead_letters)
    assert again == {output_sub: [], dead_sub: []}, "messages answered twice (never acked?)"
    for kind, outcome_id in zip(kinds, expected, strict=True):
        hostile = ("surrogate", "deep", "bytes", "empty", "blank", "zero-width")
        if kind.startswith(hostile) and kind != "deep-text":
            assert outcome_id in {row["id"] for row in dead_letters}, kind
        if kind in ("good", "good-json", "huge"):
            assert outcome_id in {row["id"] for row in predictions}, kind
