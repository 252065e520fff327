"""Outputs never delete other data: overlapping or wildcard prefixes and existing files are refused.

Beam's file sink removes everything matching `PREFIX-*-of-NNNNN.jsonl` before it
writes, so two outputs whose patterns overlap, or an earlier run's shards under
the same prefix, would be deleted. Each case runs the real `run` command.
"""

from __future__ import annotations

import glob
import os
import re
from pathlib import Path

import pytest

from support.repository import EXAMPLES
from trt_text_classifier.cli import main

INPUT = str(EXAMPLES / "reviews-1.txt")


def run(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    status = main(["run", f"--input={INPUT}", "--runner=DirectRunner", *arguments])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_dead_letter_output_equal_to_output_is_refused(
    tmp_path: Path, demo_onnx: str, capsys: pytest.CaptureFixture[str]
) -> None:
    prefix = str(tmp_path / "pred")
    status, _, err = run(
        capsys, f"--output={prefix}", f"--dead_letter_output={prefix}", f"--onnx_path={demo_onnx}"
    )
    assert status == 2
    assert err.startswith(f"error: --dead_letter_output={prefix!r}: overlaps --output={prefix!r}")
    assert err.count("\n") == 1
    assert os.listdir(tmp_path) == []


def test_existing_files_under_the_output_prefix_are_refused_and_kept(
    tmp_path: Path, demo_onnx: str, capsys: pytest.CaptureFixture[str]
) -> None:
    earlier = tmp_path / "pred-v2-00000-of-00001.jsonl"
    earlier.write_text('{"id": "earlier run"}\n')
    status, _, err = run(capsys, f"--output={tmp_path}/pred", f"--onnx_path={demo_onnx}")
    assert status == 2
    assert err.startswith(
        f"error: --output='{tmp_path}/pred': {tmp_path}/pred-*-of-*.jsonl already matches 1 file "
        f"({earlier})"
    )
    assert "choose another prefix or delete" in err
    assert earlier.read_text() == '{"id": "earlier run"}\n'


def test_wildcards_in_output_prefixes_are_refused(
    tmp_path: Path, demo_onnx: str, capsys: pytest.CaptureFixture[str]
) -> None:
    unrelated = tmp_path / "notes-00000-of-00001.jsonl"
    unrelated.write_text("keep me\n")
    status, _, err = run(capsys, f"--output={tmp_path}/*", f"--onnx_path={demo_onnx}")
    assert status == 2
    assert err.startswith(f"error: --output='{tmp_path}/*': contains the wildcard '*'")
    assert unrelated.read_text() == "keep me\n"


def test_printed_globs_match_exactly_this_runs_files(
    tmp_path: Path, demo_onnx: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A neighbour named like PREFIX-*.jsonl is neither deleted nor reported as output."""
    neighbour = tmp_path / "pred-notes.jsonl"
    neighbour.write_text("unrelated\n")
    status, out, err = run(capsys, f"--output={tmp_path}/pred", f"--onnx_path={demo_onnx}")
    assert status == 0, err
    printed = re.search(r"predictions: +\d+ -> (\S+)", out)
    assert printed is not None, out
    matched = glob.glob(printed.group(1))
    assert matched and all(re.search(r"pred-\d{5}-of-\d{5}\.jsonl$", path) for path in matched)
    assert neighbour.read_text() == "unrelated\n"
    dead = re.search(r"dead letters: +\d+ -> (\S+)", out)
    assert dead is not None
    assert str(neighbour) not in glob.glob(dead.group(1))


def test_a_staging_folder_left_by_an_interrupted_run_is_named_at_launch(
    tmp_path: Path, demo_onnx: str, capsys: pytest.CaptureFixture[str]
) -> None:
    leftover = tmp_path / "beam-temp-pred-0123456789abcdef"
    leftover.mkdir()
    (leftover / "part").write_text("half-written shard")
    status, _, err = run(capsys, f"--output={tmp_path}/pred", f"--onnx_path={demo_onnx}")
    assert status == 2
    assert err == (
        f"error: --output='{tmp_path}/pred': an interrupted run to this prefix left 1 staging "
        f"folder ({leftover}); delete them (if no other job is writing here) and run again\n"
    )


def interrupting_loader(*_: object) -> None:
    raise KeyboardInterrupt


def test_an_interrupted_run_removes_its_staging_folders(tmp_path: Path, demo_onnx: str) -> None:
    from trt_text_classifier.run import PipelineFailedError, run_pipeline

    with pytest.raises(PipelineFailedError) as raised:
        run_pipeline(
            [
                f"--input={INPUT}",
                f"--output={tmp_path}/pred",
                f"--onnx_path={demo_onnx}",
                "--runner=DirectRunner",
            ],
            wait=True,
            loader=interrupting_loader,
        )
    assert "removed its temporary folders" in str(raised.value)
    assert not glob.glob(f"{tmp_path}/**/beam-temp-*", recursive=True)
