"""The whole pipeline on gs:// (GCS emulator): input, model, tokenizer, outputs, dead letters."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.emulators import GcsEmulator
from support.pipeline_outputs import assert_each_record_once, read_json_lines
from trt_text_classifier import model_files
from trt_text_classifier.run import run_pipeline, summarize


@pytest.fixture
def local_model_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh cache for gs:// model files, so each test really downloads them."""
    monkeypatch.setattr(model_files, "_cache", model_files._ProcessCache())
    return Path(model_files.cache_root())


def test_batch_pipeline_reads_and_writes_gcs(
    gcs_emulator: GcsEmulator, demo_bundle: Path, local_model_cache: Path
) -> None:
    model = gcs_emulator.upload_directory(str(demo_bundle), "e2e/model")
    good = gcs_emulator.write("e2e/in/a.txt", b"A warm and funny film.\n\nDull and wooden.\n")
    bad = gcs_emulator.write("e2e/in/b.txt", b"Great cast\r\nbroken \xff byte\r\n")
    gcs_emulator.write("e2e/other/ignored.txt", b"not matched\n")

    _, result = run_pipeline(
        [
            f"--input={gcs_emulator.url('e2e/in/*.txt')}",
            f"--output={gcs_emulator.url('e2e/out/predictions')}",
            f"--onnx_path={model}/model.onnx",
            f"--tokenizer={model}/",
            "--runner=DirectRunner",
        ],
        wait=True,
    )

    predictions = read_json_lines(gcs_emulator.url("e2e/out/predictions"))
    dead_letters = read_json_lines(gcs_emulator.url("e2e/out/dead_letters/predictions"))
    assert sorted((row["id"], row["text"]) for row in predictions) == [
        (f"{good}:1", "A warm and funny film."),
        (f"{good}:3", "Dull and wooden."),
        (f"{bad}:1", "Great cast"),
    ]
    assert {row["label"] for row in predictions} <= {"negative", "positive"}
    assert [(row["id"], row["stage"], row["input"]) for row in dead_letters] == [
        (f"{bad}:2", "decode", "broken \\xff byte")
    ]
    assert_each_record_once(
        [f"{good}:1", f"{good}:3", f"{bad}:1", f"{bad}:2"], predictions, dead_letters
    )
    assert summarize(result).blank_lines == 1
    cached = {path.name for path in local_model_cache.rglob("*") if path.is_file()}
    assert {"model.onnx", "tokenizer.json", "tokenizer_config.json"} <= cached
