"""Bad inputs, models, files and flags: one line at launch, never a traceback at run time.

Each case runs a real command in this process (`cli.main`) and checks its exit
status and that stderr is a single `error: ...` line naming the problem.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.repository import EXAMPLES, run_python
from trt_text_classifier.cli import main


def assert_one_line(
    capsys: pytest.CaptureFixture[str], status: int, expected: str, codes: tuple[int, ...] = (1, 2)
) -> None:
    err = capsys.readouterr().err
    assert status in codes, err
    assert err.startswith("error: "), err
    assert err.count("\n") == 1, err
    assert expected in err, err


def run_args(broken: Path, demo_onnx: str, tmp_path: Path, **overrides: str) -> list[str]:
    values = {
        "input": str(EXAMPLES / "reviews-1.txt"),
        "output": str(tmp_path / "out" / "p"),
        "onnx_path": demo_onnx,
    }
    values.update({key: value.format(broken=broken) for key, value in overrides.items()})
    return ["run", *(f"--{key}={value}" for key, value in values.items())]


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["validate", "--parameters-file", "{broken}/missing.json"], "--parameters-file"),
        (["validate", "--parameters-file", "{broken}/inputs"], "is a directory"),
        (["validate", "--parameters-file", "{broken}/params-deep.json"], "not JSON"),
        (["validate", "--parameters-file", "{broken}/params-latin1.json"], "not UTF-8"),
        (["metadata", "--check", "{broken}/missing.json"], "--check"),
        (["metadata", "--check", "{broken}/inputs"], "is a directory"),
        (
            ["verify-engine", "--engine", "{broken}/missing.plan", "--onnx", "x", "--input", "y"],
            "--engine",
        ),
        (
            ["verify-engine", "--engine", "{broken}/engine.plan", "--onnx", "x", "--input", "y"],
            "engine.plan.json is invalid",
        ),
        (["metadata", "--check", "{broken}/metadata-latin1.json"], "cannot be read"),
        (
            [
                "verify-engine",
                "--engine",
                "{broken}/engine-dir.plan",
                "--onnx",
                "x",
                "--input",
                "y",
            ],
            "engine-dir.plan.json is a directory",
        ),
        (
            [
                "verify-engine",
                "--engine",
                "{broken}/engine-latin1.plan",
                "--onnx",
                "x",
                "--input",
                "y",
            ],
            "engine-latin1.plan.json is not UTF-8",
        ),
        (
            [
                "verify-engine",
                "--engine",
                "{broken}/engine-deep.plan",
                "--onnx",
                "x",
                "--input",
                "y",
            ],
            "engine-deep.plan.json is invalid",
        ),
        (
            ["build-engine", "--onnx", "{broken}/onnx-text.onnx", "--output", "{broken}/e.plan"],
            "--onnx",
        ),
        (
            ["export", "--model", "{broken}/no-such-model", "--output", "{broken}/x"],
            "no-such-model': no such directory",
        ),
        (["export", "--model", "m", "--output", "o", "--tolerance", "nan"], "--tolerance"),
        (["export", "--model", "m", "--output", "o", "--tolerance", "-1"], "--tolerance"),
    ],
)
def test_command_file_and_flag_errors_are_one_line(
    capsys: pytest.CaptureFixture[str], broken: Path, arguments: list[str], expected: str
) -> None:
    status = main([argument.format(broken=broken) for argument in arguments])
    assert_one_line(capsys, status, expected)


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--runner=NoSuchRunner"], "--runner"),
        (
            [
                "--runner=DataflowRunner",
                "--project=my-project-123",
                "--sdk_container_image=us-docker.pkg.dev/my-project-123/r/image:1",
            ],
            "region",
        ),
        (["--num_workers=-2"], "--num_workers"),
    ],
)
def test_beams_own_bad_flags_are_one_line(
    capsys: pytest.CaptureFixture[str],
    broken: Path,
    demo_onnx: str,
    tmp_path: Path,
    flags: list[str],
    expected: str,
) -> None:
    status = main([*run_args(broken, demo_onnx, tmp_path), *flags])
    assert_one_line(capsys, status, expected)


def test_launch_dry_run_accepts_gclouds_delimiter_characters(tmp_path: Path) -> None:
    values = {
        "input": "gs://my-bucket/in/a,b~c|d#e@f.txt",
        "output": "gs://my-bucket/out/p",
        "onnx_path": "gs://my-bucket/m/model.onnx",
    }
    path = tmp_path / "params.json"
    path.write_text(json.dumps(values))
    completed = run_python(
        "-m", "trt_text_classifier", "launch", "--project", "my-project-123",
        "--region", "us-central1", "--job-name", "j", "--template", "gs://my-bucket/t.json",
        "--dry-run", "--no-io", "--parameters-file", str(path),
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert "a,b~c|d#e@f.txt" in completed.stdout
