"""Tools never destroy their input: no command writes over one of its inputs, nor over a file
that exists, without --overwrite; each refusal is one line with exit status 2."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from trt_text_classifier.cli import main


@pytest.fixture
def bundle(demo_bundle: Path, tmp_path: Path) -> Path:
    directory = tmp_path / "D"
    shutil.copytree(demo_bundle, directory)
    return directory


def refusal(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    status = main(list(argv))
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1
    assert "Traceback" not in err
    return err


def test_build_engine_does_not_replace_its_model(
    bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = bundle / "model.onnx"
    before = model.read_bytes()
    for extra in ((), ("--overwrite",)):
        err = refusal(capsys, "build-engine", "--onnx", str(model), "--output", str(model), *extra)
        assert err == (
            f"error: --output={str(model)!r}: would write over {model}, which is the --onnx "
            "model; write the output somewhere else\n"
        )
    assert model.read_bytes() == before


def test_build_engine_does_not_replace_the_manifest(
    bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = bundle / "bundle.json"
    err = refusal(
        capsys, "build-engine", "--onnx", str(bundle / "model.onnx"), "--output", str(manifest)
    )
    assert err == (
        f"error: --output={str(manifest)!r}: would write over {manifest}, which is the model's "
        "manifest; write the output somewhere else\n"
    )


def test_build_engine_keeps_an_existing_file_without_overwrite(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    existing = tmp_path / "sst2.plan"
    existing.write_text("not ours")
    err = refusal(
        capsys, "build-engine", "--onnx", str(bundle / "model.onnx"), "--output", str(existing)
    )
    assert err == (
        f"error: --output={str(existing)!r}: {existing} already exists; choose another "
        "--output, or add --overwrite to replace it\n"
    )
    assert existing.read_text() == "not ours"


def test_demo_model_onto_a_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    existing = tmp_path / "a-file"
    existing.write_text("kept")
    err = refusal(capsys, "demo-model", "--output", str(existing))
    assert err == (
        f"error: --output={str(existing)!r}: is a file, not a directory; give a new or empty "
        "directory\n"
    )
    assert existing.read_text() == "kept"


def test_demo_model_keeps_an_existing_bundle_without_overwrite(
    bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (bundle / "model.onnx").read_bytes()
    err = refusal(capsys, "demo-model", "--output", str(bundle))
    assert err == (
        f"error: --output={str(bundle)!r}: {bundle / 'model.onnx'} already exists; choose "
        "another --output, or add --overwrite to replace it\n"
    )
    assert (bundle / "model.onnx").read_bytes() == before


def test_export_does_not_write_into_its_model_directory(
    bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("torch")
    err = refusal(capsys, "export", "--model", str(bundle), "--output", str(bundle), "--overwrite")
    assert err == (
        f"error: --output={str(bundle)!r}: is the --model directory; write the bundle "
        "somewhere else\n"
    )
