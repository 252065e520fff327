"""Checks that reach Cloud Storage or Google APIs answer within a time limit, in one line.

`validate` runs here as a user runs it: a separate process, no credentials, and
a storage endpoint that does not answer (STORAGE_EMULATOR_HOST points at a
closed port; the metadata server at another). Without the limit this took about
two minutes and printed pages of Beam's and google-auth's retries.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

from support.repository import REPOSITORY
from trt_text_classifier.errors import ParameterError
from trt_text_classifier.launch.remote_checks import REMOTE_CHECK_TIMEOUT_SECS, with_time_limit

ROOT = REPOSITORY
UNREACHABLE = "http://127.0.0.1:9"  # discard port: nothing listens there


def offline_environment(home: pathlib.Path) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("GOOGLE_", "CLOUDSDK_", "STORAGE_EMULATOR", "PUBSUB_EMULATOR"))
    }
    return env | {
        "HOME": str(home),
        "CLOUDSDK_CONFIG": str(home / "gcloud"),
        "STORAGE_EMULATOR_HOST": UNREACHABLE,
        "GCE_METADATA_HOST": "127.0.0.1:1",
        "GCE_METADATA_IP": "127.0.0.1:1",
        "PYTHONPATH": str(ROOT / "template"),
    }


def run_command(
    tmp_path: pathlib.Path, command: list[str], values: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "parameters.json"
    path.write_text(json.dumps(values))
    return subprocess.run(
        [sys.executable, "-m", "trt_text_classifier", *command, "--parameters-file", str(path)],
        env=offline_environment(tmp_path),
        capture_output=True,
        text=True,
        # The limit itself, plus the interpreter's start and Beam's import: a hang fails here.
        timeout=REMOTE_CHECK_TIMEOUT_SECS + 30,
    )


def test_validate_against_an_unreachable_storage_endpoint_fails_in_one_line(
    tmp_path: pathlib.Path,
) -> None:
    done = run_command(
        tmp_path,
        ["validate"],
        {
            "input": "gs://my-bucket/reviews/*.txt",
            "output": "gs://my-bucket/results/predictions",
            "onnx_path": "gs://my-bucket/model/model.onnx",
        },
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("error: --input='gs://my-bucket/reviews/*.txt': ")
    assert "credentials" in done.stderr and "network" in done.stderr


def test_a_streaming_launch_without_credentials_fails_in_one_line(
    tmp_path: pathlib.Path,
) -> None:
    launch = ["launch", "--project=my-project", "--region=us-central1", "--job-name=reviews"]
    done = run_command(
        tmp_path,
        [*launch, "--template=gs://my-bucket/templates/trt-streaming.json"],
        {
            "input_subscription": "projects/my-project/subscriptions/reviews-in",
            "output_topic": "projects/my-project/topics/reviews-out",
            "dead_letter_topic": "projects/my-project/topics/reviews-dead",
            "onnx_path": "gs://my-bucket/model/model.onnx",
        },
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr == (
        "error: --input_subscription='projects/my-project/subscriptions/reviews-in': no Google "
        "Cloud credentials here; run `gcloud auth application-default login` (or set "
        "GOOGLE_APPLICATION_CREDENTIALS)\n"
    )


def test_a_launch_request_without_credentials_fails_in_one_line(tmp_path: pathlib.Path) -> None:
    launch = ["launch", "--project=my-project", "--region=us-central1", "--job-name=reviews"]
    done = run_command(
        tmp_path,
        [*launch, "--template=gs://my-bucket/templates/trt.json", "--no-io"],
        {
            "input": "gs://my-bucket/reviews/*.txt",
            "output": "gs://my-bucket/results/predictions",
            "onnx_path": "gs://my-bucket/model/model.onnx",
        },
    )
    assert done.returncode == 2
    assert done.stderr == (
        "error: --template='gs://my-bucket/templates/trt.json': no Google Cloud credentials "
        "here; run `gcloud auth application-default login` (or set "
        "GOOGLE_APPLICATION_CREDENTIALS)\n"
    )


def test_bounded_passes_results_and_parameter_errors_through() -> None:
    assert with_time_limit("input", "x", lambda: 42) == 42

    def refuse() -> None:
        raise ParameterError("--input='x': matches no file")

    with pytest.raises(ParameterError, match="matches no file"):
        with_time_limit("input", "x", refuse)


def test_bounded_names_the_parameter_when_the_time_is_up() -> None:
    import threading

    never = threading.Event()
    with pytest.raises(ParameterError) as caught:
        with_time_limit("engine_path", "gs://b/e.plan", never.wait, timeout=0.2)
    assert str(caught.value) == (
        "--engine_path='gs://b/e.plan': no answer from Google Cloud within 0.2 s; likely no "
        "network or no credentials (run `gcloud auth application-default login`, check the "
        "bucket name); --verbose shows the retries"
    )


def test_missing_credentials_are_named() -> None:
    from google.auth.exceptions import DefaultCredentialsError

    def no_credentials() -> None:
        raise DefaultCredentialsError("Your default credentials were not found.")

    with pytest.raises(ParameterError) as caught:
        with_time_limit("input", "gs://b/x", no_credentials)
    assert str(caught.value) == (
        "--input='gs://b/x': no Google Cloud credentials here; run "
        "`gcloud auth application-default login` (or set GOOGLE_APPLICATION_CREDENTIALS)"
    )


def test_a_local_path_s_failure_is_not_blamed_on_the_network() -> None:
    def unreadable() -> None:
        raise PermissionError(13, "Permission denied", "/data/model.onnx")

    with pytest.raises(ParameterError) as caught:
        with_time_limit("onnx_path", "/data/model.onnx", unreadable)
    assert str(caught.value) == (
        "--onnx_path='/data/model.onnx': cannot read it ([Errno 13] Permission denied: "
        "'/data/model.onnx')"
    )
