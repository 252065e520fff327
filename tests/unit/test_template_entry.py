"""template/main.py, the Flex Template entry file, runs the same entry point."""

from __future__ import annotations

from pathlib import Path

from support.repository import EXAMPLES, REPOSITORY, run_python

MAIN_PY = REPOSITORY / "template" / "main.py"


def test_main_py_validates_and_runs_the_pipeline(demo_onnx: str, tmp_path: Path) -> None:
    completed = run_python(
        str(MAIN_PY),
        f"--input={EXAMPLES / '*.txt'}",
        f"--output={tmp_path / 'predictions'}",
        f"--onnx_path={demo_onnx}",
    )
    assert completed.returncode == 0, completed.stderr
    (shard,) = tmp_path.glob("predictions-*-00000-of-00001.jsonl")
    lines = shard.read_text().splitlines()
    assert len(lines) == 11


def test_main_py_refuses_bad_parameters_with_one_line() -> None:
    completed = run_python(str(MAIN_PY), "--input=x", "--output=o")
    assert completed.returncode == 2
    assert completed.stderr.startswith("error: --onnx_path / --engine_path: give exactly one model")
    assert "Traceback" not in completed.stderr
