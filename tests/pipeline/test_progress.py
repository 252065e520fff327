"""A local run shows its progress and ends with elapsed time, sentences/s and labels.

The run goes through the CLI in a subprocess whose stderr is not a terminal, so progress comes
as plain lines, every TRT_TEXT_CLASSIFIER_PROGRESS_SECS seconds (shortened here), counted
through the progress file that every worker process appends to (the multi-process local
runner is used: Beam's metrics are not live across its processes).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORDS = ["good", "bad", "great", "awful", "fine", "dull", "funny", "boring", "warm", "cold"]


@pytest.fixture
def thirty_thousand_lines(tmp_path: Path) -> Path:
    path = tmp_path / "reviews.txt"
    lines = (
        " ".join(WORDS[(i * 7 + k) % len(WORDS)] for k in range(i % 9 + 1)) for i in range(30_000)
    )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_long_local_run_shows_progress_and_a_summary(
    thirty_thousand_lines: Path, demo_onnx: str, tmp_path: Path
) -> None:
    environment = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "template"),
        "TRT_TEXT_CLASSIFIER_PROGRESS_SECS": "0.5",
    }
    run = subprocess.run(
        [
            sys.executable, "-m", "trt_text_classifier", "run",
            f"--input={thirty_thousand_lines}", f"--output={tmp_path / 'out' / 'predictions'}",
            f"--onnx_path={demo_onnx}",
            "--direct_running_mode=multi_processing", "--direct_num_workers=2",
        ],
        capture_output=True, text=True, env=environment, timeout=300, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    progress = re.findall(
        r"^progress: ([\d,]+) / 30,000 records \((\d+)%\).*elapsed$", run.stderr, re.M
    )
    assert progress, run.stderr[-2000:]
    done = [int(count.replace(",", "")) for count, _ in progress]
    assert done == sorted(done) and done[-1] <= 30_000
    elapsed = re.search(
        r"^elapsed: ([\d.]+) s; ([\d,.]+) sentences/s \(30,000 records", run.stdout, re.M
    )
    assert elapsed, run.stdout
    seconds, rate = float(elapsed.group(1)), float(elapsed.group(2).replace(",", ""))
    assert seconds > 0 and rate == pytest.approx(30_000 / seconds, rel=0.01)
    labels = re.search(
        r"^predictions per label: negative ([\d,]+), positive ([\d,]+)$", run.stdout, re.M
    )
    assert labels, run.stdout
    assert sum(int(count.replace(",", "")) for count in labels.groups()) == 30_000
    assert "predictions:  30000 ->" in run.stdout
