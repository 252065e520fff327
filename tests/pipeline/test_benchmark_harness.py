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


def test_gpu_harness_runs_the_host_ceiling_and_breaks_its_processes_down(tmp_path: Path) -> None:
    completed = run_python(
        str(REPOSITORY / "benchmarks" / "gpu_throughput.py"),
        "--model", "demo",
        "--layouts", "ceiling:2",
        "--sentences", "2000",
        "--skip-backend",
        "--output", str(tmp_path / "results"),
        "--work", str(tmp_path / "work"),
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]

    (run,) = json.loads((tmp_path / "results" / "gpu-throughput.json").read_text())["runs"]
    assert (run["layout"], run["sdk_processes"], run["sentences"]) == ("ceiling", 2, 2000)
    roles = run["processes"]
    assert set(roles) == {"runner", "sdk worker", "backend server"}
    assert [roles[role]["processes"] for role in ("runner", "sdk worker", "backend server")] == [
        1,
        2,
        1,
    ]
    workers = roles["sdk worker"]
    assert 0 <= workers["started_seconds"][0] <= workers["started_seconds"][1] < run["wall_seconds"]
    assert workers["cpu_seconds_before_first_batch"] > 0  # imports and reading, at least
    for role in ("sdk worker", "backend server"):
        first_exit, last_exit = roles[role]["exited_seconds_after_last_batch"]
        assert 0 <= first_exit <= last_exit
    assert "started_seconds" not in roles["runner"]  # the benchmark's own process
