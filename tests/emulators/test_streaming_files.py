"""A streaming job writing windowed JSON Lines files: Pub/Sub emulator in, GCS emulator out.

Messages are published in two phases: the second starts only once the first
phase's window has been written, so its results are stamped in a later
window whatever the machine's load. The job writes one set of files per
window, named with the window's start and end, and every message id appears
exactly once across the prediction and dead-letter files. (A window's files
appear up to about 30 s after its end: the DirectRunner advances the Pub/Sub
watermark only when a pull returns, and a pull that finds no message waits
that long.)
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from support.emulators import GcsEmulator, PubsubEmulator
from support.pipeline_graph import built_graph
from support.pipeline_outputs import assert_each_record_once
from support.repository import SUPPORT
from support.streaming_jobs import publish, start_process, stop
from trt_text_classifier.commands import validate
from trt_text_classifier.launch.parameters import PipelineParameters
from trt_text_classifier.launch.template_parameters import gcloud_parameters_flag

WINDOW_SECS = 3
MESSAGES_PER_PHASE = 4
FILES_DEADLINE_SECS = 120.0
WINDOWED_NAME = re.compile(
    r"/(?P<name>predictions)-\d{8}T\d{6}-[0-9a-f]{6}-(?P<start>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)-"
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
            str(SUPPORT / "offline_cli.py"),
            "run",
            f"--input_subscription={subscription}",
            f"--output={gcs_emulator.url(prefix + '/predictions')}",
            f"--window_secs={WINDOW_SECS}",
            f"--onnx_path={demo_onnx}",
            "--runner=DirectRunner",
        ]
    )
    phases = [
        {f"a-{n}": f"A warm and funny film, take {n}." for n in range(MESSAGES_PER_PHASE)},
        {f"b-{n}": f"The plot is dull, part {n}." for n in range(MESSAGES_PER_PHASE)},
    ]
    bad = [b'{"id": "bad-1", "text": ""}', b'{"id": "bad-2", "nothing": 1}']
    texts = {**phases[0], **phases[1]}
    expected = [*texts, "bad-1", "bad-2"]
    try:
        for phase, bad_message in zip(phases, bad, strict=True):
            for record_id, text in phase.items():
                body = {"id": record_id, "text": text, "n": list(texts).index(record_id)}
                publish(pubsub_emulator, topic, json.dumps(body).encode())
            publish(pubsub_emulator, topic, bad_message)
            # Once a window of predictions is written, later results fall in later windows.
            wait_for_files(gcs_emulator, prefix, pipeline, lambda rows, _: rows >= 1)
        predictions, dead_letters = wait_for_files(
            gcs_emulator, prefix, pipeline, lambda rows, dead: rows + dead >= len(expected)
        )
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


def test_streaming_dead_letters_go_to_every_place_given() -> None:
    params = PipelineParameters(
        input_subscription="projects/my-project/subscriptions/reviews",
        output_topic="projects/my-project/topics/predictions",
        dead_letter_topic="projects/my-project/topics/dead",
        dead_letter_output="gs://b/dead/p",
        onnx_path="m/model.onnx",
    )
    labels = built_graph(params).labels
    assert {"Publishdead_letters", "Writedead_letters"} <= labels
    assert "Writepredictions" not in labels


def wait_for_files(
    gcs: GcsEmulator,
    prefix: str,
    pipeline: subprocess.Popen,
    done: Callable[[int, int], bool],
) -> tuple[dict, dict]:
    """Poll the final files until done(prediction rows, dead-letter rows) (or the deadline).

    Returns (prediction files, dead-letter files), each by object name.
    """
    deadline = time.monotonic() + FILES_DEADLINE_SECS
    while True:
        final = final_rows(gcs, prefix + "/")
        predictions = {n: r for n, r in final.items() if "/dead_letters/" not in n}
        dead_letters = {n: r for n, r in final.items() if "/dead_letters/" in n}
        counts = sum(map(len, predictions.values())), sum(map(len, dead_letters.values()))
        if done(*counts) or time.monotonic() > deadline or pipeline.poll() is not None:
            return predictions, dead_letters
        time.sleep(1.0)


def test_an_unwritable_streaming_output_fails_at_launch(
    pubsub_emulator: PubsubEmulator,
    gcs_emulator: GcsEmulator,
    demo_onnx: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run = uuid.uuid4().hex[:8]
    topic = pubsub_emulator.create_topic(f"unwritable-{run}")
    subscription = pubsub_emulator.create_subscription(f"unwritable-{run}", topic)
    output = f"gs://no-such-bucket-{run}/results/predictions"
    values = {
        "input_subscription": subscription,
        "output": output,
        "dead_letter_topic": topic,
        "onnx_path": gcs_emulator.upload_directory(str(Path(demo_onnx).parent), run)
        + "/model.onnx",
    }

    status = validate.main(["--parameters", gcloud_parameters_flag(values)])

    assert status == 2
    error = capsys.readouterr().err
    assert error.startswith(f"error: --output={output!r}: cannot be written ("), error
    assert error.endswith("); choose a location this job may write to\n")
    assert error.count("\n") == 1
