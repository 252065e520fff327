"""Outputs belong to one run: no run deletes, replaces or cleans up a file it did not write.

Shards are PREFIX-RUNID-SSSSS-of-NNNNN.jsonl and staging folders beam-temp-NAME-RUNID-UUID, so
Beam's delete at finalize and a stopped run's cleanup match this run's files only; a run holds
PREFIX.run-claim (created only if absent) so a concurrent run to the same or an overlapping
prefix is refused at launch. Real DirectRunner runs through the `run` command.
"""

from __future__ import annotations

import glob
import os
import threading
from pathlib import Path

import pytest

from support.repository import EXAMPLES
from trt_text_classifier.cli import main
from trt_text_classifier.launch.command_line import parse_pipeline_args
from trt_text_classifier.launch.output_locations import (
    claim_outputs,
    release_claims,
    remove_temp_directories,
)

INPUT = str(EXAMPLES / "reviews-1.txt")


def run(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    status = main(["run", f"--input={INPUT}", "--runner=DirectRunner", *arguments])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def shards(pattern: str) -> list[str]:
    return sorted(glob.glob(pattern))


def lines_in(pattern: str) -> int:
    return sum(len(Path(path).read_text().splitlines()) for path in shards(pattern))


def test_two_runs_to_one_prefix_keep_both_runs_files(
    tmp_path: Path, demo_onnx: str, capsys: pytest.CaptureFixture[str]
) -> None:
    prefix = str(tmp_path / "o" / "pred")
    first = run(capsys, f"--output={prefix}", f"--onnx_path={demo_onnx}")
    second = run(capsys, f"--output={prefix}", f"--onnx_path={demo_onnx}")
    assert first[0] == 0 and second[0] == 0, (first, second)
    run_ids = [out.splitlines()[0].removeprefix("run: ") for _, out, _ in (first, second)]
    assert run_ids[0] != run_ids[1]
    for run_id in run_ids:
        assert len(shards(f"{prefix}-{run_id}-?????-of-?????.jsonl")) >= 1
    assert not shards(f"{tmp_path}/o/*.run-claim")  # released at the end


def test_a_second_run_while_the_first_holds_the_prefix_is_refused(
    tmp_path: Path, demo_onnx: str, capsys: pytest.CaptureFixture[str]
) -> None:
    prefix = str(tmp_path / "pred")
    holder, _ = parse_pipeline_args([f"--input={INPUT}", f"--output={prefix}", "--onnx_path=x"])
    claims = claim_outputs(holder)
    try:
        for other in (prefix, prefix + "-x", f"{tmp_path}/./pred"):
            status, _, err = run(capsys, f"--output={other}", f"--onnx_path={demo_onnx}")
            assert status == 2, err
            assert holder.run_id in err and err.count("\n") == 1, err
    finally:
        release_claims(claims)
    assert not shards(f"{tmp_path}/*.jsonl")


def test_concurrent_runs_to_one_prefix_never_both_write(
    tmp_path: Path, demo_onnx: str, capsys: pytest.CaptureFixture[str]
) -> None:
    prefix = str(tmp_path / "pred")
    statuses: list[int] = []

    def one_run() -> None:
        statuses.append(
            main(
                [
                    "run",
                    f"--input={INPUT}",
                    "--runner=DirectRunner",
                    f"--output={prefix}",
                    f"--onnx_path={demo_onnx}",
                ]
            )
        )

    threads = [threading.Thread(target=one_run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    written = {Path(path).name.rsplit("-", 3)[0] for path in shards(f"{prefix}-*.jsonl")}
    # Each run that exited 0 still has its predictions; one may have been refused at launch.
    assert statuses.count(0) == len(written) >= 1, (statuses, written)
    assert lines_in(f"{prefix}-*.jsonl") == 5 * statuses.count(0)


def test_finalize_keeps_a_neighbouring_prefixs_files(
    tmp_path: Path, demo_onnx: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status_b, _, err_b = run(capsys, f"--output={tmp_path}/pred-x", f"--onnx_path={demo_onnx}")
    status_a, _, err_a = run(capsys, f"--output={tmp_path}/pred", f"--onnx_path={demo_onnx}")
    assert status_b == 0 and status_a == 0, (err_b, err_a)
    assert lines_in(f"{tmp_path}/pred-x-*.jsonl") == 5
    assert len(shards(f"{tmp_path}/pred-*-?????-of-?????.jsonl")) == 2


def test_cleanup_removes_only_this_runs_staging(tmp_path: Path) -> None:
    other = tmp_path / "beam-temp-pred-x-20260101T000000-abcdef-0123"
    other.mkdir()
    params, _ = parse_pipeline_args(
        [f"--input={INPUT}", f"--output={tmp_path}/pred", "--onnx_path=x"]
    )
    mine = tmp_path / f"beam-temp-pred-{params.run_id}-0123"
    mine.mkdir()
    assert remove_temp_directories(params) == [str(mine)]
    assert other.is_dir()


@pytest.mark.parametrize("spelling", ["./{rel}", "{abs}", "{rel}/", "{abs_slashes}"])
def test_dead_letters_in_the_outputs_place_are_refused_however_spelled(
    tmp_path: Path,
    demo_onnx: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    spelling: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    dead = spelling.format(
        rel="o/pred", abs=f"{tmp_path}/o/pred", abs_slashes=f"{tmp_path}//o//pred"
    )
    status, _, err = run(
        capsys, "--output=o/pred", f"--dead_letter_output={dead}", f"--onnx_path={demo_onnx}"
    )
    assert status == 2
    assert err.startswith("error: --") and err.count("\n") == 1, err
    assert not os.path.exists(tmp_path / "o")


@pytest.mark.parametrize("name", ["output", "dead_letter_output"])
def test_a_folder_prefix_is_refused_at_launch(
    tmp_path: Path, demo_onnx: str, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    status, _, err = run(
        capsys,
        f"--{name}={tmp_path}/new/",
        f"--onnx_path={demo_onnx}",
        *([] if name == "output" else [f"--output={tmp_path}/pred"]),
    )
    assert status == 2
    assert err.startswith(f"error: --{name}=") and "ends with '/'" in err
    assert err.count("\n") == 1


def test_output_folders_that_do_not_exist_are_created(
    tmp_path: Path, demo_onnx: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(
        capsys,
        f"--output={tmp_path}/new/a/pred",
        f"--dead_letter_output={tmp_path}/dl/b/dead",
        f"--onnx_path={demo_onnx}",
    )
    assert status == 0, err
    assert lines_in(f"{tmp_path}/new/a/pred-*.jsonl") == 5
    assert "predictions:  5" in out
