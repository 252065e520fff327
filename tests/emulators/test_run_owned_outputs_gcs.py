"""Outputs belong to one run on gs:// too (GCS emulator): run-id shards, create-only claims."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.emulators import GcsEmulator
from trt_text_classifier.launch.command_line import parse_pipeline_args
from trt_text_classifier.launch.output_locations import (
    claim_outputs,
    create_only,
    holder_of,
    release_claims,
)
from trt_text_classifier.run import run_pipeline


def args(gcs: GcsEmulator, model: str, output: str) -> list[str]:
    return [
        f"--input={gcs.url('owned/in/a.txt')}",
        f"--output={gcs.url(output)}",
        f"--onnx_path={model}/model.onnx",
        f"--tokenizer={model}/",
        "--runner=DirectRunner",
    ]


def test_gcs_claims_are_created_only_if_absent(monkeypatch: pytest.MonkeyPatch) -> None:
    """GCS refuses an upload with if_generation_match=0 when the object exists (HTTP 412).

    gcp-storage-emulator ignores preconditions, so this checks the request carries one.
    """
    from google.cloud import storage

    sent: list[tuple[str, dict]] = []

    class Blob:
        def __init__(self, name: str) -> None:
            self.name = name

        def upload_from_string(self, _text: str, **kwargs: object) -> None:
            sent.append((self.name, kwargs))

    class Bucket:
        def blob(self, name: str) -> Blob:
            return Blob(name)

    class Client:
        def __init__(self, **_: object) -> None:
            pass

        def bucket(self, _name: str) -> Bucket:
            return Bucket()

    monkeypatch.setattr(storage, "Client", Client)
    assert create_only("gs://bucket/out/pred.run-claim", "{}")
    assert sent == [("out/pred.run-claim", {"if_generation_match": 0})]


def test_runs_on_gcs_keep_each_others_files_and_claims_refuse_overlaps(
    gcs_emulator: GcsEmulator, demo_bundle: Path
) -> None:
    model = gcs_emulator.upload_directory(str(demo_bundle), "owned/model")
    gcs_emulator.write("owned/in/a.txt", b"A warm and funny film.\nDull and wooden.\n")

    neighbour, _ = run_pipeline(args(gcs_emulator, model, "owned/out/pred-x"), wait=True)
    first, _ = run_pipeline(args(gcs_emulator, model, "owned/out/pred"), wait=True)
    second, _ = run_pipeline(args(gcs_emulator, model, "owned/out/pred"), wait=True)
    names = sorted(gcs_emulator.read_matching("owned/out/pred"))
    assert names == sorted(
        f"owned/out/{name}-{params.run_id}-00000-of-00001.jsonl"
        for name, params in (("pred-x", neighbour), ("pred", first), ("pred", second))
    )

    holder, _ = parse_pipeline_args(args(gcs_emulator, model, "owned/out/pred"))
    claims = claim_outputs(holder)
    try:
        claim = gcs_emulator.url("owned/out/pred.run-claim")
        assert claim in [c.path for c in claims]
        assert holder.run_id in holder_of(claim)
        for output in ("owned/out/pred", "owned/out/pred-x", "owned/out//pred"):
            with pytest.raises(Exception, match=holder.run_id):
                run_pipeline(args(gcs_emulator, model, output), wait=True)
    finally:
        release_claims(claims)
    assert not [n for n in gcs_emulator.read_matching("owned/out") if n.endswith(".run-claim")]
