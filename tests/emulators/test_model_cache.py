"""The local model cache cannot serve the wrong model: keyed by content, verified, private.

Real files on the GCS emulator; the cache is what a worker uses to serve gs:// models.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from support.emulators import GcsEmulator
from trt_text_classifier import model_files
from trt_text_classifier.backends.base import BackendError
from trt_text_classifier.serving.loading import load_onnx_classifier


def read_bytes(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def test_a_model_replaced_at_the_same_path_is_served_new(gcs_emulator: GcsEmulator) -> None:
    path = gcs_emulator.write("replaced/model.onnx", b"first version")
    assert read_bytes(model_files.cache_file(path)) == b"first version"

    gcs_emulator.write("replaced/model.onnx", b"second version, same path")

    assert read_bytes(model_files.cache_file(path)) == b"second version, same path"


def test_a_file_planted_where_the_old_cache_lived_is_not_served(
    gcs_emulator: GcsEmulator,
) -> None:
    """Old main kept gs://B/DIR/NAME at /tmp/trt_text_classifier_cache/<sha256(DIR)[:16]>/NAME."""
    path = gcs_emulator.write("planted/model.onnx", b"the real model")
    key = hashlib.sha256(os.path.dirname(path).encode()).hexdigest()[:16]
    planted = Path("/tmp/trt_text_classifier_cache") / key / "model.onnx"
    planted.parent.mkdir(parents=True, exist_ok=True)
    planted.write_bytes(b"planted by another user")
    try:
        assert read_bytes(model_files.cache_file(path)) == b"the real model"
    finally:
        shutil.rmtree(planted.parent, ignore_errors=True)


def test_the_cache_is_a_private_directory_of_this_user(gcs_emulator: GcsEmulator) -> None:
    path = gcs_emulator.write("private/tokenizer.json", b"{}")
    local = model_files.cache_file(path)
    directory = Path(model_files.cache_root())
    assert Path(local).resolve().is_relative_to(directory.resolve())
    info = directory.stat()
    assert stat.S_IMODE(info.st_mode) == 0o700
    assert info.st_uid == os.getuid()
    assert directory.resolve() != Path("/tmp/trt_text_classifier_cache").resolve()


def test_a_tokenizer_directory_replaced_on_gcs_is_served_new(gcs_emulator: GcsEmulator) -> None:
    gcs_emulator.write("tok-replaced/tokenizer_config.json", b'{"version": 1}')
    first = model_files.cache_directory(gcs_emulator.url("tok-replaced/"))
    assert read_bytes(os.path.join(first, "tokenizer_config.json")) == b'{"version": 1}'

    gcs_emulator.write("tok-replaced/tokenizer_config.json", b'{"version": 2}')
    second = model_files.cache_directory(gcs_emulator.url("tok-replaced/"))

    assert read_bytes(os.path.join(second, "tokenizer_config.json")) == b'{"version": 2}'


def test_an_onnx_file_that_differs_from_its_bundle_sha256_is_refused(
    demo_bundle: Path, tmp_path: Path
) -> None:
    """Like an engine and its sidecar's engine_sha256: the bundle names the model's SHA-256."""
    shutil.copytree(demo_bundle, tmp_path, dirs_exist_ok=True)
    manifest = json.loads((tmp_path / "bundle.json").read_text())
    assert (
        manifest["onnx_sha256"]
        == hashlib.sha256((demo_bundle / "model.onnx").read_bytes()).hexdigest()
    )
    manifest["onnx_sha256"] = "0" * 64
    (tmp_path / "bundle.json").write_text(json.dumps(manifest))

    with pytest.raises(BackendError) as raised:
        load_onnx_classifier(str(tmp_path / "model.onnx"), None, 32)

    assert str(raised.value).startswith(
        f"{tmp_path / 'model.onnx'}: its SHA-256 differs from onnx_sha256 in "
        f"{tmp_path / 'bundle.json'}"
    )
