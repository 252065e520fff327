"""Odd values that used to end in a traceback or a misleading message: one line, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trt_text_classifier.cli import main
from trt_text_classifier.io.json_records import DEFAULT_RECORD_FORMAT, parse_record
from trt_text_classifier.launch.template_parameters import gcloud_parameters_flag

LONG = "1" * 5000
DRIVER = f"type:nvidia-l4;count:1;install-nvidia-driver:{LONG}"
SHOWN = repr(DRIVER[:100]) + "... (5,045 characters)"
BASE = {"input": "gs://b/r/*.txt", "output": "gs://b/o/p", "onnx_path": "gs://b/m/model.onnx"}


def one_line(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    status = main(list(argv))
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1
    return err


DRIVER_REFUSAL = (
    f"error: --accelerator={SHOWN}: the driver version after install-nvidia-driver: is 5,000 "
    "characters long; give a version such as 535.86, or latest; write it as "
    "'type:nvidia-l4;count:1;install-nvidia-driver'\n"
)


def test_a_5000_digit_driver_version_in_validate(capsys: pytest.CaptureFixture[str]) -> None:
    flag = gcloud_parameters_flag({**BASE, "accelerator": DRIVER})
    assert one_line(capsys, "validate", "--no-io", "--parameters", flag) == DRIVER_REFUSAL


def test_a_5000_digit_driver_version_in_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ("run", f"--input={tmp_path}/in.txt", f"--output={tmp_path}/out/p")
    assert one_line(capsys, *argv, f"--accelerator={DRIVER}") == DRIVER_REFUSAL


def test_a_5000_digit_count(capsys: pytest.CaptureFixture[str]) -> None:
    value = f"type:nvidia-l4;count:{LONG};install-nvidia-driver"
    flag = gcloud_parameters_flag({**BASE, "accelerator": value})
    assert one_line(capsys, "validate", "--no-io", "--parameters", flag) == (
        f"error: --accelerator={value[:100]!r}... (5,043 characters): count has 5,000 digits; "
        "give the GPUs per worker, e.g. count:1; write it as "
        "'type:nvidia-l4;count:1;install-nvidia-driver'\n"
    )


def test_a_5001_digit_id_is_kept_as_written() -> None:
    digits = "7" * 5001
    payload = '{"id": ' + digits + ', "text": "good film"}'
    record = parse_record(payload, "in.jsonl:1", "in.jsonl:1", DEFAULT_RECORD_FORMAT)
    assert record.id == digits


def test_a_hyphenated_parameter_in_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ("run", f"--input={tmp_path}/in.txt", f"--output={tmp_path}/out/p")
    assert one_line(capsys, *argv, "--onnx-path=m/model.onnx") == (
        "error: --onnx-path: unknown option; did you mean --onnx_path? (parameters are written "
        "with underscores)\n"
    )


def test_a_hyphenated_parameter_in_validate(capsys: pytest.CaptureFixture[str]) -> None:
    flag = "input=gs://b/r/*.txt,output=gs://b/o/p,onnx-path=gs://b/m/model.onnx"
    assert one_line(capsys, "validate", "--no-io", "--parameters", flag) == (
        "error: --onnx-path: unknown parameter; did you mean --onnx_path? (parameters are "
        "written with underscores)\n"
    )


def test_a_key_repeated_in_parameters(capsys: pytest.CaptureFixture[str]) -> None:
    flag = gcloud_parameters_flag(BASE) + ",output=gs://b/other/p"
    assert one_line(capsys, "validate", "--no-io", "--parameters", flag) == (
        "error: --parameters: 'output' is given more than once; give each parameter once\n"
    )


def test_a_key_repeated_in_parameters_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p.json"
    text = json.dumps(BASE)[:-1] + ', "input": "gs://c/r/*.txt"}'
    path.write_text(text)
    assert one_line(capsys, "validate", "--no-io", "--parameters-file", str(path)) == (
        f"error: --parameters-file {path}: 'input' is given more than once; give each "
        "parameter once\n"
    )
