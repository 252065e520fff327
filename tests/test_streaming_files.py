"""A streaming job writing windowed JSON Lines files: Pub/Sub emulator in, GCS emulator out.

Messages are published one every half second for several windows; the job
writes one set of files per window, named with the window's start and end,
and every message id appears exactly once across the prediction and
dead-letter files. (A window's files appear up to about 30 s after its end:
the DirectRunner advances the Pub/Sub watermark only when a pull returns, and
a pull that finds no message waits that long.)
"""

from __future__ import annotations

import json
import re
import time
import uuid

from emulators import GcsEmulator, PubsubEmulator
from pipeline_outputs import assert_each_record_once
from test_io_pubsub import TESTS_DIRECTORY, publish, start_process, stop

WINDOW_SECS = 3
MESSAGES = 20
PUBLISH_INTERVAL_SECS = 0.5
"""20 messages over 10 s: more than two windows even if the first ones wait for the model."""
FILES_DEADLINE_SECS = 120.0
WINDOWED_NAME = re.compile(
    r"/(?P<name>predictions)-(?P<start>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)-"
    r"(?P<end>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)-\d{5}-of-\d{5}\.jsonl$"
)


def final_rows(gcs: GcsEmulator, prefix: str) -> dict[str, list[dict]]:
    """Rows of the final files under `prefix`, by object name.

    Skips the job's temporary directory: its files move away while we list.
    """
    bucket = gcs.client().bucket(gcs.bucket)
    names = [blob.name for blob in bucket.list_blobs(prefix=prefix)]
    return {
        name: [json.loads(line) for line in bucket.blob(name).download_as_text().splitlines()]
        for name in names
        if name.endswith(".jsonl") and "/.temp" not in name
    }


def test_streaming_job_writes_windowed_files_with_every_id_once(
    pubsub_emulator: PubsubEmulator, gcs_emulator: GcsEmulator, demo_onnx: str
) -> None:
    run = uuid.uuid4().hex[:8]
    topic = pubsub_emulator.create_topic(f"files-in-{run}")
    subscription = pubsub_emulator.create_subscription(f"files-in-{run}", topic)
    prefix = f"windowed-{run}"
    pipeline = start_process(
        [
            str(TESTS_DIRECTORY / "offline_cli.py"),
            "run",
            f"--input_subscription={subscription}",
            f"--output={gcs_emulator.url(prefix + '/predictions')}",
            f"--window_secs={WINDOW_SECS}",
            f"--onnx_path={demo_onnx}",
            "--runner=DirectRunner",
        ]
    )
    texts = {f"m-{n}": f"A warm and funny film, take {n}." for n in range(MESSAGES)}
    bad = {"bad-1": b'{"id": "bad-1", "text": ""}', "bad-2": b'{"id": "bad-2", "nothing": 1}'}
    try:
        for n, (record_id, text) in enumerate(texts.items()):
            body = {"id": record_id, "text": text, "n": n}
            publish(pubsub_emulator, topic, json.dumps(body).encode())
            if n in (1, MESSAGES - 2):
                name = "bad-1" if n == 1 else "bad-2"
                publish(pubsub_emulator, topic, bad[name])
            time.sleep(PUBLISH_INTERVAL_SECS)
        expected = [*texts, *bad]
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
    assert {row["id"]: row["fields"] for row in prediction_rows} == {
        record_id: {"n": n} for n, record_id in enumerate(texts)
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
        final = final_rows(gcs, prefix + "/")
        predictions = {n: r for n, r in final.items() if "/dead_letters/" not in n}
        dead_letters = {n: r for n, r in final.items() if "/dead_letters/" in n}
        total = sum(map(len, final.values()))
        if total >= expected or time.monotonic() > deadline or pipeline.poll() is not None:
            return predictions, dead_letters
        time.sleep(1.0)
