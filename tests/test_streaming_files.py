"""A streaming job writing windowed JSON Lines files: Pub/Sub emulator in, GCS emulator out.

Messages are published in two bursts more than one window apart; the job
writes one set of files per window, named with the window's start and end,
and every message id appears exactly once across the prediction and
dead-letter files.
"""

from __future__ import annotations

import json
import re
import time
import uuid

from emulators import GcsEmulator, PubsubEmulator
from pipeline_outputs import assert_each_record_once
from test_io_pubsub import publish, start_cli, stop

WINDOW_SECS = 3
FILES_DEADLINE_SECS = 120.0
WINDOWED_NAME = re.compile(
    r"/(?P<name>predictions)-(?P<start>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)-"
    r"(?P<end>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)-\d{5}-of-\d{5}\.jsonl$"
)


def rows_by_file(files: dict[str, bytes]) -> dict[str, list[dict]]:
    return {
        name: [json.loads(line) for line in data.decode("utf-8").splitlines()]
        for name, data in files.items()
        if name.endswith(".jsonl")
    }


def test_streaming_job_writes_windowed_files_with_every_id_once(
    pubsub_emulator: PubsubEmulator, gcs_emulator: GcsEmulator, demo_onnx: str
) -> None:
    run = uuid.uuid4().hex[:8]
    topic = pubsub_emulator.create_topic(f"files-in-{run}")
    subscription = pubsub_emulator.create_subscription(f"files-in-{run}", topic)
    prefix = f"windowed-{run}"
    pipeline = start_cli(
        [
            f"--input_subscription={subscription}",
            f"--output={gcs_emulator.url(prefix + '/predictions')}",
            f"--window_secs={WINDOW_SECS}",
            f"--onnx_path={demo_onnx}",
            "--runner=DirectRunner",
        ]
    )
    first = {f"a-{n}": f"A warm and funny film, take {n}." for n in range(4)}
    second = {f"b-{n}": f"The plot is dull, part {n}." for n in range(4)}
    expected = [*first, *second, "bad-1", "bad-2"]
    try:
        for record_id, text in first.items():
            body = {"id": record_id, "text": text, "batch": "first"}
            publish(pubsub_emulator, topic, json.dumps(body).encode())
        publish(pubsub_emulator, topic, b'{"id": "bad-1", "text": ""}')
        time.sleep(2 * WINDOW_SECS)
        for record_id, text in second.items():
            body = {"id": record_id, "text": text, "batch": "second"}
            publish(pubsub_emulator, topic, json.dumps(body).encode())
        publish(pubsub_emulator, topic, b'{"id": "bad-2", "nothing": 1}')
        predictions, dead_letters = wait_for_rows(gcs_emulator, prefix, len(expected), pipeline)
    finally:
        stop(pipeline)

    prediction_rows = [row for rows in predictions.values() for row in rows]
    dead_letter_rows = [row for rows in dead_letters.values() for row in rows]
    assert_each_record_once(expected, prediction_rows, dead_letter_rows)
    assert {row["id"]: row["stage"] for row in dead_letter_rows} == {
        "bad-1": "parse",
        "bad-2": "parse",
    }
    assert {row["id"]: row["fields"]["batch"] for row in prediction_rows} == {
        **dict.fromkeys(first, "first"),
        **dict.fromkeys(second, "second"),
    }
    windows = set()
    for name in predictions:
        match = WINDOWED_NAME.search("/" + name)
        assert match, name
        start = time.strptime(match["start"], "%Y-%m-%dT%H:%M:%S")
        end = time.strptime(match["end"], "%Y-%m-%dT%H:%M:%S")
        assert time.mktime(end) - time.mktime(start) == WINDOW_SECS
        windows.add(match["start"])
    assert len(windows) >= 2, sorted(predictions)
    for name in dead_letters:
        assert name.startswith(f"{prefix}/dead_letters/predictions-"), name


def wait_for_rows(gcs: GcsEmulator, prefix: str, expected: int, pipeline) -> tuple[dict, dict]:
    """Poll the bucket until `expected` rows are in the final files (or the deadline passes)."""
    deadline = time.monotonic() + FILES_DEADLINE_SECS
    while True:
        files = rows_by_file(gcs.read_matching(prefix + "/"))
        final = {name: rows for name, rows in files.items() if "/.temp" not in name}
        predictions = {n: r for n, r in final.items() if "/dead_letters/" not in n}
        dead_letters = {n: r for n, r in final.items() if "/dead_letters/" in n}
        total = sum(map(len, final.values()))
        if total >= expected or time.monotonic() > deadline or pipeline.poll() is not None:
            return predictions, dead_letters
        time.sleep(1.0)
