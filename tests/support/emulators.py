"""Emulator fixtures: a GCS emulator and a Pub/Sub emulator, started and stopped by the suite.

- GCS: `gcp-storage-emulator`, in memory, in a thread of the test process, on
  127.0.0.1. Beam's `FileSystems` and google-cloud-storage reach it through
  STORAGE_EMULATOR_HOST. (fake-gcs-server breaks Beam's batch rename.)
- Pub/Sub: `gcloud beta emulators pubsub start` (Java), in its own process
  group with a fresh CLOUDSDK_CONFIG, reached through PUBSUB_EMULATOR_HOST.

No credentials exist here. Without them, `google.auth.default` probes the GCE
metadata server and Beam retries it for about 23 s per process, so
`offline_google_auth` points the metadata lookups at a closed port and seeds
Beam's credential holder with "no credentials" (Beam then uses an anonymous
storage client, which is what the emulator wants).

Loaded from tests/conftest.py as a plugin (`support.emulators`); tests that use them are marked
`emulators` automatically.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from google.cloud import storage

EMULATOR_PROJECT = "test-project"
GCS_BUCKET = "tc-test-bucket"
STARTUP_TIMEOUT_SECS = 60.0

OFFLINE_AUTH_ENVIRONMENT = {
    "NO_GCE_CHECK": "true",
    "GCE_METADATA_HOST": "127.0.0.1:1",
    "GCE_METADATA_IP": "127.0.0.1:1",
    "GOOGLE_CLOUD_PROJECT": EMULATOR_PROJECT,
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_http(url: str, timeout: float, process: subprocess.Popen | None = None) -> None:
    """Poll `url` until it answers; fail with the reason if it never does."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError as error:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"emulator exited with status {process.returncode}") from error
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer within {timeout:.0f} s") from error
            time.sleep(0.2)


@pytest.fixture(scope="session")
def offline_google_auth() -> Iterator[None]:
    """Environment and Beam credential state for running against emulators without credentials."""
    from apache_beam.internal.gcp import auth

    saved_environment = {name: os.environ.get(name) for name in OFFLINE_AUTH_ENVIRONMENT}
    os.environ.update(OFFLINE_AUTH_ENVIRONMENT)
    saved_credentials = (auth._Credentials._credentials_init, auth._Credentials._credentials)
    auth._Credentials._credentials_init = True
    auth._Credentials._credentials = None
    try:
        yield
    finally:
        auth._Credentials._credentials_init, auth._Credentials._credentials = saved_credentials
        _restore_environment(saved_environment)


@dataclass(frozen=True)
class GcsEmulator:
    endpoint: str
    bucket: str

    def url(self, path: str) -> str:
        """gs:// URL of `path` inside the test bucket."""
        return f"gs://{self.bucket}/{path.lstrip('/')}"

    def client(self) -> storage.Client:
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        return storage.Client(project=EMULATOR_PROJECT, credentials=AnonymousCredentials())

    def upload_directory(self, local_directory: str, prefix: str) -> str:
        """Copy the files directly under a local directory to gs://bucket/prefix/; return that URL."""
        bucket = self.client().bucket(self.bucket)
        for name in sorted(os.listdir(local_directory)):
            path = os.path.join(local_directory, name)
            if os.path.isfile(path):
                bucket.blob(f"{prefix}/{name}").upload_from_filename(path)
        return self.url(prefix)

    def write(self, path: str, data: bytes) -> str:
        self.client().bucket(self.bucket).blob(path).upload_from_string(data)
        return self.url(path)

    def read_matching(self, prefix: str) -> dict[str, bytes]:
        """Contents of every object under `prefix`, by object name."""
        bucket = self.client().bucket(self.bucket)
        return {blob.name: blob.download_as_bytes() for blob in bucket.list_blobs(prefix=prefix)}


@pytest.fixture(scope="session")
def gcs_emulator(offline_google_auth: None) -> Iterator[GcsEmulator]:
    from gcp_storage_emulator.server import create_server

    logging.getLogger("gcp_storage_emulator").setLevel(logging.ERROR)
    port = free_port()
    server = create_server("127.0.0.1", port, in_memory=True, default_bucket=GCS_BUCKET)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    saved = os.environ.get("STORAGE_EMULATOR_HOST")
    os.environ["STORAGE_EMULATOR_HOST"] = endpoint
    try:
        yield GcsEmulator(endpoint, GCS_BUCKET)
    finally:
        _restore_environment({"STORAGE_EMULATOR_HOST": saved})
        server.stop()


@dataclass(frozen=True)
class PubsubEmulator:
    host: str
    project: str

    def topic_path(self, name: str) -> str:
        return f"projects/{self.project}/topics/{name}"

    def subscription_path(self, name: str) -> str:
        return f"projects/{self.project}/subscriptions/{name}"

    def create_topic(self, name: str) -> str:
        from google.cloud import pubsub_v1

        path = self.topic_path(name)
        pubsub_v1.PublisherClient().create_topic(name=path)
        return path

    def create_subscription(self, name: str, topic: str) -> str:
        from google.cloud import pubsub_v1

        path = self.subscription_path(name)
        with pubsub_v1.SubscriberClient() as subscriber:
            subscriber.create_subscription(name=path, topic=topic)
        return path


@pytest.fixture(scope="session")
def pubsub_emulator(offline_google_auth: None) -> Iterator[PubsubEmulator]:
    gcloud = shutil.which("gcloud")
    if gcloud is None:
        pytest.fail("gcloud is not installed; the Pub/Sub emulator needs the Google Cloud SDK")
    port = free_port()
    host = f"127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="gcloud-config-") as config:
        environment = {
            **os.environ,
            "CLOUDSDK_CONFIG": config,
            "CLOUDSDK_CORE_PROJECT": EMULATOR_PROJECT,
        }
        process = subprocess.Popen(
            [gcloud, "beta", "emulators", "pubsub", "start", f"--host-port={host}"],
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        saved = os.environ.get("PUBSUB_EMULATOR_HOST")
        try:
            wait_for_http(f"http://{host}/", STARTUP_TIMEOUT_SECS, process)
            os.environ["PUBSUB_EMULATOR_HOST"] = host
            yield PubsubEmulator(host, EMULATOR_PROJECT)
        finally:
            _restore_environment({"PUBSUB_EMULATOR_HOST": saved})
            _stop_process_group(process)


def _stop_process_group(process: subprocess.Popen) -> None:
    """gcloud starts the Java emulator as a child: stop the whole group it leads."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=10)
            return
        except subprocess.TimeoutExpired:
            continue


def _restore_environment(saved: dict[str, str | None]) -> None:
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


EMULATOR_FIXTURES = frozenset({"gcs_emulator", "pubsub_emulator"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that starts an emulator, so `-m "not emulators"` can skip them."""
    for item in items:
        if EMULATOR_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.emulators)
