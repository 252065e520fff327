"""Outputs never delete other data: overlapping or wildcard prefixes are refused, files kept.

Beam's file sink removes everything matching its shard glob before it writes; a run's
shards are PREFIX-RUNID-SSSSS-of-NNNNN.jsonl, so that glob matches this run's files
only, and an earlier run's shards under the same prefix are kept. Each case runs the
real `run` command (more in tests/pipeline/test_run_owned_outputs.py).
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


def test_existing_files_under_the_output_prefix_are_kept(
    tmp_path: Path, demo_onnx: str, capsys: pytest.CaptureFixture[str]
) -> None:
    earlier = tmp_path / "pred-v2-00000-of-00001.jsonl"
    earlier.write_text('{"id": "earlier run"}\n')
    same_prefix = tmp_path / "pred-20260101T000000-abcdef-00000-of-00001.jsonl"
    same_prefix.write_text('{"id": "earlier run"}\n')
    status, _, err = run(capsys, f"--output={tmp_path}/pred", f"--onnx_path={demo_onnx}")
    assert status == 0, err
    assert earlier.read_text() == '{"id": "earlier run"}\n'
    assert same_prefix.read_text() == '{"id": "earlier run"}\n'


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
    assert matched and all(
        re.search(r"pred-\d{8}T\d{6}-[0-9a-f]{6}-\d{5}-of-\d{5}\.jsonl$", path) for path in matched
    )
    assert neighbour.read_text() == "unrelated\n"
    dead = re.search(r"dead letters: +\d+ -> (\S+)", out)
    assert dead is not None
    assert str(neighbour) not in glob.glob(dead.group(1))


def test_a_staging_folder_left_by_another_run_is_kept(
    tmp_path: Path, demo_onnx: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Staging folders carry their run's id: another run's is neither used nor removed."""
    leftover = tmp_path / "beam-temp-pred-20260101T000000-abcdef-0123456789abcdef"
    leftover.mkdir()
    (leftover / "part").write_text("half-written shard")
    status, _, err = run(capsys, f"--output={tmp_path}/pred", f"--onnx_path={demo_onnx}")
    assert status == 0, err
    assert (leftover / "part").read_text() == "half-written shard"


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
