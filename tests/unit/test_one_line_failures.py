"""Bad inputs, models, files and flags: one line at launch, never a traceback at run time.

Each case runs a real command in this process (`cli.main`) and checks its exit
status and that stderr is a single `error: ...` line naming the problem.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from support.repository import EXAMPLES, run_python
from trt_text_classifier.cli import main

DEEP_JSON = "[" * 100_000 + "]" * 100_000


@pytest.fixture(scope="module")
def broken(demo_bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Bundles and files that are wrong in one way each."""
    root = tmp_path_factory.mktemp("broken")

    def bundle(name: str, change: Callable[[Path], None]) -> None:
        directory = root / name
        shutil.copytree(demo_bundle, directory)
        change(directory)

    def manifest_without_sha(directory: Path) -> None:
        manifest = json.loads((directory / "bundle.json").read_text())
        manifest.pop("onnx_sha256", None)
        (directory / "bundle.json").write_text(json.dumps(manifest))

    def not_onnx(directory: Path) -> None:
        (directory / "model.onnx").write_text("this is not a model\n")
        manifest_without_sha(directory)

    def truncated(directory: Path) -> None:
        data = (directory / "model.onnx").read_bytes()
        (directory / "model.onnx").write_bytes(data[: len(data) // 2])
        manifest_without_sha(directory)

    def float_inputs(directory: Path) -> None:
        import onnx

        model = onnx.load(str(directory / "model.onnx"))
        model.graph.input[0].type.tensor_type.elem_type = onnx.TensorProto.FLOAT
        onnx.save(model, str(directory / "model.onnx"))
        manifest_without_sha(directory)

    bundle("not-onnx", not_onnx)
    bundle("truncated", truncated)
    bundle("float-inputs", float_inputs)
    bundle("no-tokenizer", lambda d: [os.remove(d / n) for n in os.listdir(d) if "token" in n])
    bundle("corrupt-tokenizer", lambda d: (d / "tokenizer.json").write_text("{not json"))
    bundle(
        "no-pad-token",
        lambda d: (d / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 512})),
    )
    bundle("manifest-dir", lambda d: (os.remove(d / "bundle.json"), (d / "bundle.json").mkdir()))
    bundle("manifest-latin1", lambda d: (d / "bundle.json").write_bytes(b'{"labels": "\xe9"}'))
    bundle("manifest-deep", lambda d: (d / "bundle.json").write_text(DEEP_JSON))
    bundle("manifest-shape", lambda d: (d / "bundle.json").write_text('{"labels": 3}'))
    (root / "inputs").mkdir()
    (root / "inputs" / "sub").mkdir()
    (root / "inputs" / "a.txt").write_text("A warm film.\n")
    (root / "params-deep.json").write_text(DEEP_JSON)
    (root / "params-latin1.json").write_bytes(b'{"input": "caf\xe9"}')
    (root / "engine.plan").write_bytes(b"not an engine")
    (root / "engine.plan.json").write_text('{"precision": "fp16"}')
    for name, write in {
        "dir": lambda path: path.mkdir(),
        "latin1": lambda path: path.write_bytes(b'{"precision": "caf\xe9"}'),
        "deep": lambda path: path.write_text(DEEP_JSON),
    }.items():
        (root / f"engine-{name}.plan").write_bytes(b"not an engine")
        write(root / f"engine-{name}.plan.json")
    (root / "metadata-latin1.json").write_bytes(b'{"name": "caf\xe9"}')
    (root / "onnx-text.onnx").write_text("not onnx")
    return root


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
    ("overrides", "expected"),
    [
        ({"input": "{broken}/inputs"}, "is a directory; give a file pattern such as"),
        ({"onnx_path": "{broken}/not-onnx/model.onnx"}, "is not a valid ONNX model"),
        ({"onnx_path": "{broken}/truncated/model.onnx"}, "is not a valid ONNX model"),
        ({"onnx_path": "{broken}/float-inputs/model.onnx"}, "input 'input_ids' is float"),
        ({"onnx_path": "{broken}/no-tokenizer/model.onnx"}, "no tokenizer could be loaded"),
        ({"onnx_path": "{broken}/corrupt-tokenizer/model.onnx"}, "tokenizer.json"),
        ({"onnx_path": "{broken}/no-pad-token/model.onnx"}, "names no pad token"),
        ({"onnx_path": "{broken}/manifest-dir/model.onnx"}, "bundle.json is a directory"),
        ({"onnx_path": "{broken}/manifest-latin1/model.onnx"}, "bundle.json is not UTF-8"),
        ({"onnx_path": "{broken}/manifest-deep/model.onnx"}, "bundle.json is invalid"),
        ({"onnx_path": "{broken}/manifest-shape/model.onnx"}, "bundle.json is invalid: labels"),
        ({"tokenizer": "{broken}/no/such/dir"}, "--tokenizer='"),
    ],
)
def test_bad_inputs_models_and_tokenizers_are_refused_at_launch(
    capsys: pytest.CaptureFixture[str],
    broken: Path,
    demo_onnx: str,
    tmp_path: Path,
    overrides: dict[str, str],
    expected: str,
) -> None:
    status = main(run_args(broken, demo_onnx, tmp_path, **overrides))
    assert_one_line(capsys, status, expected, codes=(2,))


def test_an_output_that_cannot_be_written_is_refused_at_launch(
    capsys: pytest.CaptureFixture[str], demo_onnx: str, tmp_path: Path
) -> None:
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("x")
    status = main(
        [
            "run",
            f"--input={EXAMPLES / 'reviews-1.txt'}",
            f"--output={blocker}/sub/p",
            f"--onnx_path={demo_onnx}",
        ]
    )
    assert_one_line(capsys, status, "cannot be written", codes=(2,))


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


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file: no unreadable file here")
def test_an_unreadable_input_file_is_refused_at_launch(
    capsys: pytest.CaptureFixture[str], demo_onnx: str, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("hidden\n")
    secret.chmod(0)
    status = main(
        ["run", f"--input={secret}", f"--output={tmp_path}/p", f"--onnx_path={demo_onnx}"]
    )
    assert_one_line(capsys, status, "cannot be read by this user", codes=(2,))
