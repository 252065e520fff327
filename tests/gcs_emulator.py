"""A GCS emulator for tests that need gs:// paths, with Beam's credential lookup short-circuited.

Import the `gcs_emulator` fixture into a test module. Without credentials,
Beam retries `google.auth.default` for ~23 s per process; the fixture points
the metadata server at a closed port and pre-seeds Beam's credential holder
with "no credentials", which the emulator accepts.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def gcs_emulator() -> Iterator[str]:
    """Start an in-memory GCS emulator; yields its host:port (STORAGE_EMULATOR_HOST)."""
    from apache_beam.internal.gcp import auth
    from gcp_storage_emulator.server import create_server

    port = _free_port()
    server = create_server("127.0.0.1", port, in_memory=True)
    server.start()
    patch = pytest.MonkeyPatch()
    host = f"http://127.0.0.1:{port}"
    patch.setenv("STORAGE_EMULATOR_HOST", host)
    patch.setenv("NO_GCE_CHECK", "true")
    patch.setenv("GCE_METADATA_HOST", "127.0.0.1:1")
    patch.setenv("GCE_METADATA_IP", "127.0.0.1:1")
    patch.setattr(auth._Credentials, "_credentials_init", True)
    patch.setattr(auth._Credentials, "_credentials", None)
    try:
        yield host
    finally:
        patch.undo()
        server.stop()


def create_bucket(name: str) -> None:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    client = storage.Client(project="test-project", credentials=AnonymousCredentials())
    client.create_bucket(name)


def upload(path: str, data: str) -> None:
    """Write `data` to gs://BUCKET/OBJECT on the emulator."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    bucket, _, name = path.removeprefix("gs://").partition("/")
    client = storage.Client(project="test-project", credentials=AnonymousCredentials())
    client.bucket(bucket).blob(name).upload_from_string(data)
