"""examples/streaming_demo.sh runs end to end: emulator, topics, pipeline, answers, cleanup.

It takes about 45 s here (demo model, emulator start, the first streaming batch).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.emulators


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.skipif(shutil.which("gcloud") is None, reason="needs gcloud's Pub/Sub emulator")
def test_the_streaming_demo_answers_every_message(tmp_path: Path) -> None:
    work = tmp_path / "repo"
    work.mkdir()
    (work / "examples").symlink_to(ROOT / "examples")
    environment = {
        **os.environ,
        "PYTHON": sys.executable,
        "PYTHONPATH": str(ROOT / "template"),
        "PUBSUB_PORT": str(free_port()),
    }
    run = subprocess.run(
        ["bash", str(ROOT / "examples" / "streaming_demo.sh")],
        cwd=work, env=environment, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert run.stdout.count("predictions: {") == 3
    assert run.stdout.count("dead-letters: {") == 1
    assert "all messages answered" in run.stdout
