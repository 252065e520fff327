"""Model files on gs:// (the GCS emulator): existence, small reads, local caching, sidecars."""

from __future__ import annotations

import os

import pytest

from support.emulators import GcsEmulator
from support.engine_doubles import make_sidecar
from trt_text_classifier import model_files
from trt_text_classifier.errors import ParameterError
from trt_text_classifier.launch.preflight import read_engine_sidecar


def test_engine_and_sidecar_are_cached_locally_from_gcs(gcs_emulator: GcsEmulator) -> None:
    engine = gcs_emulator.write("engines/sst2.plan", b"\x00engine-bytes\xff")
    sidecar = gcs_emulator.write("engines/sst2.plan.json", b'{"precision": "fp16"}')

    assert model_files.exists(engine)
    assert not model_files.exists(gcs_emulator.url("engines/missing.plan"))
    assert model_files.read_text(sidecar) == '{"precision": "fp16"}'
    local = model_files.cache_file(engine)
    assert not local.startswith("gs://")
    with open(local, "rb") as handle:
        assert handle.read() == b"\x00engine-bytes\xff"


def test_tokenizer_directory_is_cached_without_subdirectories(gcs_emulator: GcsEmulator) -> None:
    gcs_emulator.write("tok/tokenizer.json", b"{}")
    gcs_emulator.write("tok/tokenizer_config.json", b'{"a": 1}')
    gcs_emulator.write("tok/nested/ignored.txt", b"x")

    local = model_files.cache_directory(gcs_emulator.url("tok/"))

    assert sorted(os.listdir(local)) == ["tokenizer.json", "tokenizer_config.json"]
    with open(os.path.join(local, "tokenizer_config.json"), "rb") as handle:
        assert handle.read() == b'{"a": 1}'


def test_engine_sidecar_on_gcs_is_read_at_launch(gcs_emulator: GcsEmulator) -> None:
    sidecar = make_sidecar()
    engine = gcs_emulator.write("engines/demo.plan", b"engine")
    gcs_emulator.write("engines/demo.plan.json", sidecar.model_dump_json().encode())

    assert read_engine_sidecar(engine) == sidecar


def test_engine_without_sidecar_on_gcs_fails_at_launch(gcs_emulator: GcsEmulator) -> None:
    engine = gcs_emulator.write("engines/lonely.plan", b"engine")

    with pytest.raises(ParameterError) as raised:
        read_engine_sidecar(engine)

    assert str(raised.value).startswith(
        f"--engine_path={engine!r}: its sidecar {engine}.json is missing"
    )
