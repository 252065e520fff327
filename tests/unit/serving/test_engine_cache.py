"""The shared engine cache with real TensorRT-RTX builds into a local folder (no GPU, no Beam
needed): one build for many workers, takeover of a dead builder's claim, bad entries.

Workers are real processes (`support.engine_cache_worker`) started at the same moment.
The GPU is declared (an L4: "NVIDIA L4", compute capability 8.9); profiles are tiny so
each build takes about a second.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from trt_text_classifier.model_tooling.engine_build import CacheBuilder
from trt_text_classifier.serving.engine_cache import (
    CLAIM_FILE,
    ENTRY_FILE,
    EngineCache,
    EngineRefused,
)
from trt_text_classifier.serving.engine_cache_key import make_key
from trt_text_classifier.serving.engine_cache_store import EngineCacheError
from trt_text_classifier.sidecar import BuildSettings, GpuTarget, ProfileRange, sha256_of

ROOT = Path(__file__).resolve().parents[3]
L4 = GpuTarget("NVIDIA L4", "8.9")
SETTINGS = BuildSettings(
    "fp32", ProfileRange(min=1, opt=2, max=4), ProfileRange(min=1, opt=8, max=16), 256
)
RTX = CacheBuilder("tensorrt-rtx")


def start_worker(cache: str, onnx: str, start_at: float, *extra: str) -> subprocess.Popen[str]:
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "template"), str(ROOT / "tests")]),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "support.engine_cache_worker", cache, onnx, str(start_at), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )


def results(process: subprocess.Popen[str], timeout: float = 240) -> tuple[dict[str, Any], str]:
    stdout, stderr = process.communicate(timeout=timeout)
    assert process.returncode == 0, stderr[-3000:]
    lines = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    return lines[-1], stderr


def run_workers(cache: str, onnx: str, count: int, *extra: str) -> list[tuple[dict[str, Any], str]]:
    start_at = time.time() + 12  # every process imported and waiting at the line
    processes = [start_worker(cache, onnx, start_at, *extra) for _ in range(count)]
    return [results(process) for process in processes]


def folder_digest(folder: Path) -> dict[str, str]:
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.iterdir())
    }


def test_four_workers_started_together_build_once_and_get_identical_engines(
    demo_onnx: str, tmp_path: Path
) -> None:
    cache = str(tmp_path / "cache")
    os.makedirs(cache)
    outcomes = run_workers(cache, demo_onnx, 4)
    reports = [report for report, _ in outcomes]

    builders = [report for report in reports if report["outcome"] == "built"]
    assert len(builders) == 1, [report["outcome"] for report in reports]
    assert sum(report["metrics"]["builds"] for report in reports) == 1
    assert sum(report["metrics"]["hits"] for report in reports) == 3
    assert {report["outcome"] for report in reports} <= {"built", "waited", "found"}
    # The claim's history: the entry records the one claim it was built under, by that worker.
    record = json.loads((Path(cache) / reports[0]["entry"] / ENTRY_FILE).read_text())
    assert record["claim"]["worker"] == builders[0]["worker"] == record["built_by"]
    assert record["claim"]["takes_over"] is None
    assert not (Path(cache) / reports[0]["entry"] / CLAIM_FILE).exists()
    assert len({report["engine_sha256"] for report in reports}) == 1
    assert len({report["sidecar_sha256"] for report in reports}) == 1
    assert reports[0]["engine_sha256"] == record["engine_sha256"]
    key = make_key(sha256_of(demo_onnx), RTX, L4, SETTINGS)
    assert all(report["record"]["key"] == key.as_dict() for report in reports)
    assert reports[0]["entry"] == key.folder
    waiters = [stderr for report, stderr in outcomes if report["outcome"] == "waited"]
    for stderr in waiters:
        assert f"waiting for the L4 engine built by {builders[0]['worker']} since" in stderr
    print(
        "timings:",
        {report["outcome"]: round(report["seconds"], 2) for report in reports},
        "waits:",
        [round(second, 2) for report in reports for second in report["metrics"]["wait_seconds"]],
    )


def test_a_builder_killed_mid_build_is_taken_over_after_the_limit(
    demo_onnx: str, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    doomed = start_worker(str(cache), demo_onnx, time.time(), "--slow-build", "120")
    assert doomed.stdout is not None
    assert json.loads(doomed.stdout.readline()) == {"building": True}  # it holds the claim
    key = make_key(sha256_of(demo_onnx), RTX, L4, SETTINGS)
    entry = cache / key.folder
    stale_claim = json.loads((entry / CLAIM_FILE).read_text())
    doomed.send_signal(signal.SIGKILL)
    doomed.wait()
    # What a builder killed during its upload leaves: a partial engine no entry names.
    (entry / "engine-deadbeefdeadbeef.plan").write_bytes(b"half an engine")
    assert not (entry / ENTRY_FILE).exists()

    successor = start_worker(str(cache), demo_onnx, time.time(), "--stale-after", "4")
    report, stderr = results(successor)

    assert report["outcome"] == "built"
    assert report["metrics"]["takeovers"] == 1
    assert report["metrics"]["builds"] == 1
    record = json.loads((entry / ENTRY_FILE).read_text())
    assert record["claim"]["takes_over"]["worker"] == stale_claim["worker"]
    assert record["engine_file"] != "engine-deadbeefdeadbeef.plan"
    assert report["engine_sha256"] == record["engine_sha256"]
    assert sha256_of(str(entry / record["engine_file"])) == record["engine_sha256"]
    assert "takes over the build" in stderr
    assert not (entry / CLAIM_FILE).exists()
    # A later worker finds the complete entry.
    later, _ = results(start_worker(str(cache), demo_onnx, time.time()))
    assert later["outcome"] == "found"
    assert later["engine_sha256"] == record["engine_sha256"]


def test_flipped_bytes_are_refused_moved_aside_rebuilt_and_counted(
    demo_onnx: str, tmp_path: Path
) -> None:
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    first, _ = EngineCache(str(cache_dir)).obtain(demo_onnx, L4, SETTINGS, RTX)
    entry = cache_dir / first.entry
    engine = entry / first.entry_record["engine_file"]
    data = bytearray(engine.read_bytes())
    data[len(data) // 2] ^= 0xFF
    engine.write_bytes(bytes(data))

    cache = EngineCache(str(cache_dir))
    again, _ = cache.obtain(demo_onnx, L4, SETTINGS, RTX)

    assert again.outcome == "built"
    assert cache.metrics.bad_entries == 1
    assert cache.metrics.builds == 1
    aside = [path for path in cache_dir.iterdir() if path.name.startswith(first.entry + ".bad-")]
    assert len(aside) == 1
    assert (aside[0] / engine.name).read_bytes() == bytes(data)  # kept, never deleted
    assert (
        sha256_of(again.engine_path)
        == json.loads((entry / ENTRY_FILE).read_text())["engine_sha256"]
    )


def test_an_engine_the_runtime_refuses_twice_stops_with_one_line_naming_the_entry(
    demo_onnx: str, tmp_path: Path
) -> None:
    cache = EngineCache(str(tmp_path))
    loads: list[str] = []

    def refuse(engine: Any) -> None:
        loads.append(engine.outcome)
        raise EngineRefused("could not deserialize the engine")

    with pytest.raises(EngineCacheError) as error:
        cache.obtain(demo_onnx, L4, SETTINGS, RTX, load=refuse)

    message = str(error.value)
    assert "\n" not in message
    key = make_key(sha256_of(demo_onnx), RTX, L4, SETTINGS)
    assert key.folder in message and "bad twice" in message
    assert loads == ["built", "built"]
    assert cache.metrics.bad_entries == 2
    assert len([path for path in tmp_path.iterdir() if ".bad-" in path.name]) == 2


def test_another_profile_or_builder_version_uses_another_entry_and_leaves_the_first(
    demo_onnx: str, tmp_path: Path
) -> None:
    cache = str(tmp_path)
    first, _ = EngineCache(cache).obtain(demo_onnx, L4, SETTINGS, RTX)
    before = folder_digest(tmp_path / first.entry)

    other_profile = BuildSettings(
        "fp32", ProfileRange(min=1, opt=4, max=8), SETTINGS.sequence, SETTINGS.workspace_mib
    )
    second, _ = EngineCache(cache).obtain(demo_onnx, L4, other_profile, RTX)
    report, _ = results(start_worker(cache, demo_onnx, time.time(), "--version", "1.7.0.99"))

    folders = {first.entry, second.entry, report["entry"]}
    assert len(folders) == 3
    assert second.outcome == "built" and report["outcome"] == "built"
    assert "b1.4.8" in second.entry and "1.7.0.99" in report["entry"]
    assert folder_digest(tmp_path / first.entry) == before


@pytest.mark.parametrize(
    "change",
    [
        {"onnx_sha256": "0" * 64},
        {"builder": "tensorrt"},
        {"builder_version": "1.7.1.117"},
        {"gpu_name": "NVIDIA RTX PRO 6000 Blackwell Server Edition"},
        {"compute_capability": "7.5"},
        {"precision": "fp16"},
        {"batch": "1,2,8"},
        {"sequence": "1,8,32"},
        {"workspace_mib": 512},
    ],
)
def test_every_key_field_changes_the_entry(demo_onnx: str, change: dict[str, Any]) -> None:
    import dataclasses

    key = make_key(sha256_of(demo_onnx), RTX, L4, SETTINGS)
    assert dataclasses.replace(key, **change).folder != key.folder
    assert key.folder.startswith(sha256_of(demo_onnx)[:12] + "-l4-sm89-tensorrt-rtx-")


def test_a_missing_or_unwritable_cache_is_refused_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(EngineCacheError, match="no such folder"):
        EngineCache(str(tmp_path / "missing")).check_writable()
    if os.geteuid() == 0:
        locked = "/proc/self"  # a folder even root cannot create files in
    else:
        (tmp_path / "locked").mkdir(mode=0o500)
        locked = str(tmp_path / "locked")
    with pytest.raises(EngineCacheError, match="not writable"):
        EngineCache(locked).check_writable()


def test_a_build_that_fails_gives_its_claim_back(demo_onnx: str, tmp_path: Path) -> None:
    class FailingBuilder(CacheBuilder):
        def build(self, *args: Any) -> Any:
            raise RuntimeError("the builder ran out of memory")

    cache = EngineCache(str(tmp_path))
    with pytest.raises(RuntimeError, match="out of memory"):
        cache.obtain(demo_onnx, L4, SETTINGS, FailingBuilder("tensorrt-rtx"))
    key = make_key(sha256_of(demo_onnx), RTX, L4, SETTINGS)
    assert not (tmp_path / key.folder / CLAIM_FILE).exists()  # nobody waits for a dead claim
    engine, _ = EngineCache(str(tmp_path)).obtain(demo_onnx, L4, SETTINGS, RTX)
    assert engine.outcome == "built"


def test_engine_cache_list_prints_one_line_per_entry(
    demo_onnx: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from trt_text_classifier.commands import engine_cache as command

    EngineCache(str(tmp_path)).obtain(demo_onnx, L4, SETTINGS, RTX)
    pro = GpuTarget("NVIDIA RTX PRO 6000 Blackwell Server Edition", "12.0")
    EngineCache(str(tmp_path)).obtain(demo_onnx, pro, SETTINGS, RTX)
    assert command.main(["list", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    assert any("NVIDIA L4 (compute capability 8.9)  tensorrt-rtx" in line for line in lines)
    assert any("Server Edition (compute capability 12.0)" in line for line in lines)
    assert command.main(["list", str(tmp_path / "missing")]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_workers_that_find_one_bad_entry_together_leave_one_complete_entry(
    demo_onnx: str, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    first, _ = EngineCache(str(cache)).obtain(demo_onnx, L4, SETTINGS, RTX)
    engine = cache / first.entry / first.entry_record["engine_file"]
    engine.write_bytes(engine.read_bytes()[:-100] + b"\0" * 100)

    reports = [report for report, _ in run_workers(str(cache), demo_onnx, 3)]

    record = json.loads((cache / first.entry / ENTRY_FILE).read_text())
    assert record["engine_file"] != first.entry_record["engine_file"]
    assert {report["engine_sha256"] for report in reports} == {record["engine_sha256"]}
    assert sum(report["metrics"]["bad_entries"] for report in reports) >= 1
    assert [path.name.startswith(first.entry + ".bad-") for path in cache.iterdir()].count(
        True
    ) >= 1
