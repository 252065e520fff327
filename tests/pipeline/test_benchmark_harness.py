"""The benchmark harness runs end to end on a tiny input, so that it cannot rot.

No timing is asserted: the harness must run every pipeline to completion, account for
every sentence in each, and write its table, plot and raw numbers.
"""

from __future__ import annotations

import json
from pathlib import Path

from support.repository import REPOSITORY, run_python

SENTENCES = 60


def test_harness_runs_every_pipeline_and_writes_its_report(tmp_path: Path) -> None:
    completed = run_python(
        str(REPOSITORY / "benchmarks" / "run.py"),
        "--workloads", "demo",
        "--demo-sentences", str(SENTENCES),
        "--seed-batch-sizes", "1,2",
        "--output", str(tmp_path / "results"),
        "--work", str(tmp_path / "work"),
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]

    raw = json.loads((tmp_path / "results" / "cpu.json").read_text())
    (workload,) = raw["workloads"]
    assert workload["name"] == "demo"
    pipelines = [m["pipeline"] for m in workload["measurements"]]
    assert pipelines[:3] == ["ours", "backend alone", "seed-style, batch 1"]
    assert len(pipelines) in (3, 4)  # a fourth row when batch size 2 beats 1
    assert [m["sentences"] for m in workload["measurements"]] == [SENTENCES] * len(pipelines)
    ours, alone = workload["measurements"][:2]
    assert alone["batches"] == ours["batches"] > 0
    assert 0.5 < ours["padding_efficiency"] <= 1.0
    assert set(workload["seed_probe"]) == {"1", "2"}

    table = (tmp_path / "results" / "cpu.md").read_text()
    assert "## demo: demo model" in table
    assert f"{SENTENCES} sentences; word pieces per sentence" in table
    assert "| ours | ≤64, formed by length |" in table
    assert (tmp_path / "results" / "cpu.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
