"""A batch job starts loading its model while the input is read (`LoadModelEarly`).

Its RunInference stage starts only once every record has crossed the Reshuffle after
reading; the model's load (the shared backend's process, the session) is started in a
branch of its own before that, and RunInference then takes the loaded model. A load that
fails there costs nothing but the time: RunInference loads again.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import apache_beam as beam
import pytest

from support.pipeline_outputs import assert_each_record_once, read_json_lines
from trt_text_classifier.launch.options import make_pipeline_options
from trt_text_classifier.launch.parameters import PipelineParameters
from trt_text_classifier.model_tooling.demo_model import read_corpus
from trt_text_classifier.pipeline import build_pipeline, make_handler
from trt_text_classifier.serving.classifier import TextClassifier
from trt_text_classifier.serving.loading import load_classifier

LOADS: list[str] = []
"""The thread of each load, in order (the DirectRunner runs in this process)."""


def load_recording_thread(model_path: str, tokenizer: str | None, length: int) -> TextClassifier:
    LOADS.append(threading.current_thread().name)
    return load_classifier(model_path, tokenizer, length)


def fail_first_load(model_path: str, tokenizer: str | None, length: int) -> TextClassifier:
    LOADS.append(threading.current_thread().name)
    if len(LOADS) == 1:
        raise OSError("the model store did not answer")
    return load_classifier(model_path, tokenizer, length)


def classify_corpus(tmp_path: Path, demo_onnx: str, loader) -> tuple[list[str], list[dict]]:  # type: ignore[no-untyped-def]
    LOADS.clear()
    lines = [sentence for _, sentence in read_corpus()[:40]]
    (tmp_path / "in.txt").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    params = PipelineParameters(
        input=str(tmp_path / "in.txt"), output=str(tmp_path / "out" / "p"), onnx_path=demo_onnx
    )
    options = make_pipeline_options(params, ["--runner=DirectRunner"])
    with beam.Pipeline(options=options) as pipeline:
        build_pipeline(pipeline, params, make_handler(params, loader))
    predictions = read_json_lines(params.output or "")
    ids = [f"{tmp_path / 'in.txt'}:{number}" for number in range(1, len(lines) + 1)]
    assert_each_record_once(ids, predictions, read_json_lines(params.resolved_dead_letter_output))
    return ids, predictions


def test_the_model_is_loaded_once_by_the_early_branch_and_used_by_run_inference(
    tmp_path: Path, demo_onnx: str
) -> None:
    ids, predictions = classify_corpus(tmp_path, demo_onnx, load_recording_thread)

    assert LOADS == ["load-model-early"]
    assert len(predictions) == len(ids) == 40


def test_an_early_load_that_fails_is_logged_and_run_inference_loads_again(
    tmp_path: Path, demo_onnx: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="trt_text_classifier.serving.early_loading"):
        ids, predictions = classify_corpus(tmp_path, demo_onnx, fail_first_load)

    assert LOADS[0] == "load-model-early"
    assert len(LOADS) == 2 and LOADS[1] != "load-model-early"
    assert len(predictions) == len(ids)
    assert (
        f"loading {demo_onnx} early failed (OSError: the model store did not answer); "
        "RunInference loads it again" in caplog.text
    )
