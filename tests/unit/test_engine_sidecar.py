"""The engine sidecar: JSON round trip, compute capability support, runtime mismatch messages."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from support.engine_doubles import make_sidecar
from trt_text_classifier.sidecar import (
    EngineSidecar,
    ProfileRange,
    sidecar_path_for,
    write_sidecar,
)

REBUILD = (
    "trt-text-classifier build-engine --onnx bundle/model.onnx --output gs://b/e.plan "
    "--builder tensorrt-rtx --precision fp16 --batch 1,2,4 --seq 1,8,16 --compute-capability"
)


def test_round_trip_through_the_file_beside_the_engine(tmp_path) -> None:
    sidecar = make_sidecar()
    path = write_sidecar(str(tmp_path / "e.plan"), sidecar)
    assert path == str(tmp_path / "e.plan.json")
    assert EngineSidecar.model_validate_json((tmp_path / "e.plan.json").read_text()) == sidecar
    assert sidecar_path_for("gs://b/e.plan") == "gs://b/e.plan.json"


def test_supports_compute_capability() -> None:
    sidecar = make_sidecar()
    assert sidecar.supports_compute_capability("8.6")
    assert not sidecar.supports_compute_capability("7.5")
    assert not sidecar.supports_compute_capability("9.0")


def test_tokenizer_location_resolves_beside_the_engine() -> None:
    sidecar = make_sidecar()
    assert sidecar.tokenizer_location("gs://b/e/m.plan") == "gs://b/e/model.plan.tokenizer"
    assert sidecar.tokenizer_location("m.plan") == "./model.plan.tokenizer"
    moved = sidecar.model_copy(update={"tokenizer": "gs://other/tok"})
    assert moved.tokenizer_location("gs://b/e/m.plan") == "gs://other/tok"


def test_runtime_that_matches_has_no_mismatch() -> None:
    sidecar = make_sidecar()
    assert (
        sidecar.runtime_mismatch(
            "e.plan", library="tensorrt-rtx", version="1.7.1.116", compute_capability="8.9"
        )
        is None
    )


@pytest.mark.parametrize(
    ("library", "version", "compute_capability", "present"),
    [
        ("tensorrt", "10.13.0.35", "8.6", "this worker has tensorrt 10.13.0.35"),
        (
            "tensorrt-rtx",
            "2.0.0.1",
            "8.6",
            "this worker has tensorrt-rtx 2.0.0.1 (an engine loads only on the exact version "
            "that built it)",
        ),
        (
            "tensorrt-rtx",
            "1.7.2.1",
            "8.6",
            "this worker has tensorrt-rtx 1.7.2.1 (an engine loads only on the exact version "
            "that built it)",
        ),
        (
            "tensorrt-rtx",
            "1.7.1.117",
            "8.6",
            "this worker has tensorrt-rtx 1.7.1.117 (an engine loads only on the exact version "
            "that built it)",
        ),
        ("tensorrt-rtx", "1.7.1.116", "7.5", "this GPU has compute capability 7.5"),
    ],
)
def test_runtime_mismatch_says_what_was_built_what_is_present_and_how_to_rebuild(
    library: str, version: str, compute_capability: str, present: str
) -> None:
    message = make_sidecar().runtime_mismatch(
        "gs://b/e.plan", library=library, version=version, compute_capability=compute_capability
    )
    assert message == (
        "gs://b/e.plan was built with tensorrt-rtx 1.7.1.116 for compute capability 8.6, 8.9, "
        f"but {present}; rebuild it where it will run: {REBUILD} {compute_capability}"
    )


def test_profile_range_must_be_ordered() -> None:
    with pytest.raises(ValidationError, match="needs MIN <= OPT <= MAX, got 4,2,8"):
        ProfileRange(min=4, opt=2, max=8)


def test_a_model_is_hashed_once_per_version_of_its_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A local run checks the model at launch and loads it in the same process: one read.
    from trt_text_classifier import sidecar

    reads: list[str] = []
    real = sidecar.sha256_of
    monkeypatch.setattr(sidecar, "sha256_of", lambda path: reads.append(path) or real(path))
    model = tmp_path / "model.onnx"
    model.write_bytes(b"first version")
    first = sidecar.model_sha256(str(model))
    assert sidecar.model_sha256(str(model)) == first == real(str(model))
    assert len(reads) == 1
    model.write_bytes(b"second version, longer")
    assert sidecar.model_sha256(str(model)) == real(str(model)) != first
    replacement = tmp_path / "replacement"
    replacement.write_bytes(b"first version")
    os.replace(replacement, model)  # same content, a new file: hashed again
    assert sidecar.model_sha256(str(model)) == first
    assert len(reads) == 3
