"""Injected faults: each one either dead-letters the affected records or fails the job loudly.

Invariant checked everywhere: non-blank input records = predictions + dead
letters, each id exactly once.
"""

from __future__ import annotations

from pathlib import Path

import apache_beam as beam
import pytest

from support.emulators import GcsEmulator
from support.fault_injection import (
    POISON,
    UNENCODABLE,
    UNTOKENIZABLE,
    load_classifier_with_faulty_tokenizer,
    load_classifier_with_unencodable_predictions,
    load_faulty_classifier,
)
from support.pipeline_outputs import assert_each_record_once, read_json_lines
from trt_text_classifier.cli import main
from trt_text_classifier.launch.options import make_pipeline_options
from trt_text_classifier.launch.parameters import PipelineParameters
from trt_text_classifier.model_tooling.demo_model import read_corpus
from trt_text_classifier.pipeline import build_pipeline, make_handler
from trt_text_classifier.run import last_line
from trt_text_classifier.serving.handler import TextClassificationModelHandler


def write_lines(path: Path, lines: list[str]) -> list[str]:
    """Write a UTF-8 input file; return the ids of its non-blank lines."""
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return [f"{path}:{number}" for number, line in enumerate(lines, start=1) if line.strip()]


def run_with_handler(
    params: PipelineParameters, handler: TextClassificationModelHandler
) -> tuple[list[dict], list[dict]]:
    with beam.Pipeline(
        options=make_pipeline_options(params, ["--runner=DirectRunner"])
    ) as pipeline:
        build_pipeline(pipeline, params, handler)
    return (
        read_json_lines(params.output or ""),
        read_json_lines(params.resolved_dead_letter_output),
    )


def poisoned_input(tmp_path: Path) -> tuple[list[str], set[str]]:
    """30 corpus sentences, 3 of them holding a token the faulty backend refuses."""
    lines = [sentence for _, sentence in read_corpus()[:30]]
    poisoned = {3, 17, 29}
    for index in poisoned:
        lines[index] = f"a {POISON} review"
    ids = write_lines(tmp_path / "in.txt", lines)
    return ids, {ids[index] for index in poisoned}


def batch_params(tmp_path: Path, demo_onnx: str, max_batch_size: int) -> PipelineParameters:
    return PipelineParameters(
        input=str(tmp_path / "in.txt"),
        output=str(tmp_path / "out" / "predictions"),
        onnx_path=demo_onnx,
        max_batch_size=max_batch_size,
    )


@pytest.mark.parametrize("max_batch_size", [1, 8])
def test_only_the_records_the_backend_rejects_become_dead_letters(
    tmp_path: Path, demo_onnx: str, max_batch_size: int
) -> None:
    ids, poisoned = poisoned_input(tmp_path)
    params = batch_params(tmp_path, demo_onnx, max_batch_size)

    predictions, dead_letters = run_with_handler(
        params, make_handler(params, loader=load_faulty_classifier)
    )

    assert_each_record_once(ids, predictions, dead_letters)
    assert sorted(row["id"] for row in dead_letters) == sorted(poisoned)
    for row in dead_letters:
        assert row["stage"] == "inference"
        assert "injected fault: the accelerator rejected this batch" in row["error"]


def test_without_isolation_a_failed_batch_dead_letters_all_its_records(
    tmp_path: Path, demo_onnx: str
) -> None:
    ids, poisoned = poisoned_input(tmp_path)
    params = batch_params(tmp_path, demo_onnx, 8)
    handler = TextClassificationModelHandler(
        demo_onnx, max_batch_size=8, loader=load_faulty_classifier, isolate_failures=False
    )

    predictions, dead_letters = run_with_handler(params, handler)

    assert_each_record_once(ids, predictions, dead_letters)
    assert poisoned < {row["id"] for row in dead_letters}
    assert all(row["stage"] == "inference" for row in dead_letters)


def test_a_record_the_tokenizer_rejects_becomes_a_dead_letter(
    tmp_path: Path, demo_onnx: str
) -> None:
    lines = ["A warm, funny film.", "", f"Broken {UNTOKENIZABLE} text.", "Dull and wooden."]
    ids = write_lines(tmp_path / "in.txt", lines)
    params = PipelineParameters(
        input=str(tmp_path / "in.txt"),
        output=str(tmp_path / "out" / "predictions"),
        onnx_path=demo_onnx,
        max_batch_size=1,
    )
    handler = TextClassificationModelHandler(
        demo_onnx, max_batch_size=1, loader=load_classifier_with_faulty_tokenizer
    )

    predictions, dead_letters = run_with_handler(params, handler)

    assert_each_record_once(ids, predictions, dead_letters)
    assert [(row["id"], row["stage"], row["input"]) for row in dead_letters] == [
        (ids[1], "inference", f"Broken {UNTOKENIZABLE} text.")
    ]
    assert "injected fault: cannot tokenize" in dead_letters[0]["error"]


def test_missing_model_fails_at_launch_naming_the_parameter(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_lines(tmp_path / "in.txt", ["good film"])
    status = main(
        [
            "run",
            f"--input={tmp_path / 'in.txt'}",
            f"--output={tmp_path / 'out' / 'p'}",
            f"--onnx_path={tmp_path / 'nowhere' / 'model.onnx'}",
        ]
    )
    assert status == 2
    assert capsys.readouterr().err == (
        f"error: --onnx_path={str(tmp_path / 'nowhere' / 'model.onnx')!r}: no such file; give a "
        "model.onnx written by `trt-text-classifier export` or `demo-model`\n"
    )
    assert not (tmp_path / "out").exists()


def test_missing_gcs_model_fails_at_launch(
    tmp_path: Path, gcs_emulator: GcsEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = gcs_emulator.url("faults/no-model/model.onnx")
    status = main(
        [
            "run",
            f"--input={gcs_emulator.write('faults/in.txt', b'good film')}",
            f"--output={gcs_emulator.url('faults/out/p')}",
            f"--onnx_path={missing}",
        ]
    )
    assert status == 2
    assert capsys.readouterr().err.startswith(f"error: --onnx_path={missing!r}: no such file")


def test_output_to_a_missing_bucket_is_refused_at_launch(
    gcs_emulator: GcsEmulator, demo_onnx: str, capsys: pytest.CaptureFixture[str]
) -> None:
    source = gcs_emulator.write("faults/unwritable/in.txt", b"good film\nbad film\n")
    status = main(
        [
            "run",
            f"--input={source}",
            "--output=gs://no-such-bucket-here/out/predictions",
            f"--onnx_path={demo_onnx}",
        ]
    )
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("error: --output='gs://no-such-bucket-here/out/predictions': ")
    assert err.count("\n") == 1
    assert gcs_emulator.read_matching("faults/unwritable/") == {
        "faults/unwritable/in.txt": b"good film\nbad film\n"
    }


@pytest.mark.parametrize(
    ("error", "summary"),
    [
        (
            RuntimeError(
                "Traceback (most recent call last):\n  ...\nOSError: disk full [while running 'Write']\n"
            ),
            "OSError: disk full [while running 'Write']",
        ),
        (ValueError("(404, 'Expected one of', 200)"), "ValueError: (404, 'Expected one of', 200)"),
        (KeyError(), "KeyError"),
        (OSError("x" * 600), "OSError: " + "x" * 488 + "..."),
    ],
)
def test_job_failure_is_summarized_in_one_line(error: Exception, summary: str) -> None:
    assert last_line(error) == summary


@pytest.mark.parametrize("max_batch_size", [1, 8])
def test_a_prediction_that_cannot_be_encoded_is_a_dead_letter_not_a_prediction(
    tmp_path: Path, demo_onnx: str, max_batch_size: int
) -> None:
    lines = [sentence for _, sentence in read_corpus()[:12]]
    lines[4] = f"a {UNENCODABLE} review"
    ids = write_lines(tmp_path / "in.txt", lines)
    params = batch_params(tmp_path, demo_onnx, max_batch_size)
    handler = make_handler(params, loader=load_classifier_with_unencodable_predictions)

    predictions, dead_letters = run_with_handler(params, handler)

    assert_each_record_once(ids, predictions, dead_letters)
    assert [(row["id"], row["stage"]) for row in dead_letters] == [(ids[4], "encode")]
    assert "set is not JSON serializable" in dead_letters[0]["error"]
    assert all("stage" not in row for row in predictions)
