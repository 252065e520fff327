"""Issue 19, the remaining cases: files that are not text or not regular, truncated
.deflate, Ctrl-C, repeated Beam options, misleading messages (relative glob, engine too
large without MPS, dry-run hints, job names that look like options)."""

from __future__ import annotations

import os
import shlex
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from apache_beam.io import fileio
from apache_beam.io.filesystem import FileMetadata

from trt_text_classifier import cli
from trt_text_classifier.dataflow.accelerator import resolve_worker
from trt_text_classifier.dataflow.accelerator_syntax import parse_accelerator
from trt_text_classifier.dataflow.gpu_memory import check_engines_fit
from trt_text_classifier.errors import ParameterError
from trt_text_classifier.io.text_files import ReadLines
from trt_text_classifier.launch.gcloud_command import LaunchTarget, gcloud_command
from trt_text_classifier.launch.options import check_beam_args
from trt_text_classifier.launch.preflight import check_input_matches
from trt_text_classifier.records import DeadLetter, TextRecord


def read(path: Path) -> tuple[list[str], list[DeadLetter]]:
    """(texts, dead letters) ReadLines gives for one file."""
    readable = fileio.ReadableFile(FileMetadata(str(path), 0))
    texts: list[str] = []
    letters: list[DeadLetter] = []
    for output in ReadLines(chunk_size=10).process(readable):
        if isinstance(output, list):
            texts += [record.text for record in output if isinstance(record, TextRecord)]
        else:
            letters.append(output.value)  # type: ignore[attr-defined]
    return texts, letters


# 1. Not text: UTF-16 without a byte-order mark, a .zip archive.


def test_utf16_without_bom_is_one_dead_letter_not_nul_filled_records(tmp_path: Path) -> None:
    path = tmp_path / "reviews.txt"
    path.write_bytes("a fine film\nawful\n".encode("utf-16-le"))
    texts, letters = read(path)
    assert texts == []
    assert [(letter.stage, letter.id) for letter in letters] == [("read", str(path))]
    assert "UTF-16" in letters[0].error and "re-encode it as UTF-8" in letters[0].error


def test_zip_archive_is_one_dead_letter_not_predictions_on_its_bytes(tmp_path: Path) -> None:
    path = tmp_path / "reviews.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("reviews.txt", "a fine film\n" * 100)
    texts, letters = read(path)
    assert texts == []
    assert len(letters) == 1 and "zip archive" in letters[0].error


def test_utf16_with_bom_and_utf8_text_are_still_read(tmp_path: Path) -> None:
    (tmp_path / "bom.txt").write_bytes("a fine film\nawful\n".encode("utf-16"))
    (tmp_path / "plain.txt").write_bytes("café\nawful\n".encode())
    assert read(tmp_path / "bom.txt") == (["a fine film", "awful"], [])
    assert read(tmp_path / "plain.txt") == (["café", "awful"], [])


# 2. Only regular files are read.


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "inputs" / "pipe.txt"
    path.parent.mkdir()
    (tmp_path / "inputs" / "a.txt").write_text("a fine film\n")
    os.mkfifo(path)
    yield path


def test_a_fifo_matched_by_the_glob_is_refused_at_launch(fifo: Path) -> None:
    with pytest.raises(ParameterError, match=r"FIFO.*not a regular file"):
        check_input_matches(str(fifo.parent / "*.txt"))


def test_dev_urandom_is_refused_at_launch() -> None:
    with pytest.raises(ParameterError, match="character device"):
        check_input_matches("/dev/urandom")


def test_a_fifo_is_skipped_by_readlines_without_opening_it(fifo: Path) -> None:
    texts, letters = read(fifo)  # opening the FIFO would block forever
    assert texts == []
    assert len(letters) == 1 and "FIFO" in letters[0].error


# 3. Truncated .deflate.


def test_a_truncated_deflate_keeps_whole_lines_and_names_where_it_stopped(tmp_path: Path) -> None:
    data = b"".join(b"line %d\n" % number for number in range(50_000))
    compressed = zlib.compress(data)
    path = tmp_path / "cut.txt.deflate"
    path.write_bytes(compressed[: len(compressed) // 2])
    texts, letters = read(path)
    assert texts and texts == [f"line {number}" for number in range(len(texts))]
    assert [(letter.id, letter.stage) for letter in letters] == [(str(path), "read")]
    assert f"after line {len(texts)}" in letters[0].error
    (tmp_path / "whole.txt.deflate").write_bytes(compressed)
    assert read(tmp_path / "whole.txt.deflate") == ([f"line {n}" for n in range(50_000)], [])


# 4. Ctrl-C.


def test_ctrl_c_is_one_line_and_exit_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from trt_text_classifier.commands import run

    def interrupted(argv: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(run, "main", interrupted)
    assert cli.main(["run", "--input=x"]) == 130
    assert capsys.readouterr().err == "interrupted\n"


# 6. A Beam option given twice.


@pytest.mark.parametrize(
    ("args", "name"),
    [
        (["--runner", "DirectRunner", "--runner", "DataflowRunner"], "--runner"),
        (["--temp_location=gs://a/t", "--temp_location=gs://b/t"], "--temp_location"),
    ],
)
def test_a_beam_option_given_twice_is_refused(args: list[str], name: str) -> None:
    with pytest.raises(ParameterError, match=f"^{name}: given 2 times; give it once"):
        check_beam_args(args)


def test_options_that_collect_values_may_repeat() -> None:
    check_beam_args(["--experiments=a", "--experiments=b", "--runner=DirectRunner"])


# 7. Misleading messages.


def test_a_relative_glob_matches_files_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.txt").write_text("a fine film\n")
    monkeypatch.chdir(tmp_path)
    check_input_matches("*.txt")  # Beam lists the pattern's directory part: here ""


def test_an_engine_too_large_without_mps_is_not_told_to_drop_mps() -> None:
    worker = resolve_worker(
        parse_accelerator("type:nvidia-tesla-t4;count:1;install-nvidia-driver"), "n1-standard-4"
    )
    with pytest.raises(ParameterError) as error:
        check_engines_fit(worker, 40 << 30, workspace_mib=1024)
    assert "use_nvidia_mps" not in str(error.value) and "0 vCPUs" not in str(error.value)
    assert "more memory" in str(error.value)


EVERY_DELIMITER = {"input": "gs://b/" + ",~|#@;!$%&*+" + ".txt"}
TARGET = LaunchTarget("p", "us-central1", "job-1", "gs://b/t.json")


def test_the_dry_run_hint_fits_how_the_values_were_given() -> None:
    with pytest.raises(ParameterError, match="pass them with --parameters-file"):
        gcloud_command(TARGET, EVERY_DELIMITER)
    with pytest.raises(ParameterError) as error:
        gcloud_command(TARGET, EVERY_DELIMITER, "params.json")
    assert "pass them with --parameters-file" not in str(error.value)
    assert "without --dry-run" in str(error.value)


def test_a_job_name_that_looks_like_an_option_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = cli.main(
        [
            "launch",
            "--project=p",
            "--region=us-central1",
            "--job-name=--impersonate-service-account=x@y.iam.gserviceaccount.com",
            "--template=gs://b/t.json",
            "--dry-run",
            "--no-io",
            "--parameters",
            "input=gs://b/*.txt,output=gs://b/o/p,onnx_path=gs://b/m.onnx",
        ]
    )
    out, err = capsys.readouterr()
    assert status == 2 and "--impersonate" not in out
    assert err.startswith("error: --job-name=") and err.count("\n") == 1


def test_every_value_of_the_printed_command_is_a_value() -> None:
    words = shlex.split(gcloud_command(TARGET, {"input": "--x y"}))
    assert words[4] == "job-1"
    assert all(word.startswith("--") and "=" in word for word in words[5:])


# 5. A pipeline failure: one line naming the log file that holds the traceback.


def test_a_pipeline_failure_is_one_line_naming_the_log_with_the_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import logging

    from trt_text_classifier import run as run_module
    from trt_text_classifier.commands import run as run_command

    def failing(argv: object, **_: object) -> object:
        try:
            raise OSError("disk full [while running 'WritePredictions']")
        except OSError as error:
            logging.getLogger("apache_beam.runners.worker").exception("Error processing")
            raise run_module.PipelineFailedError("the pipeline failed: disk full") from error

    monkeypatch.setattr(run_module, "run_pipeline", failing)
    monkeypatch.setattr(run_command, "LOG_DIRECTORY", tmp_path)
    assert cli.main(["run", "--input=x"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: the pipeline failed: disk full") and err.count("\n") == 1, err
    (log,) = tmp_path.glob("run-*.log")
    assert str(log) in err
    text = log.read_text()
    assert "Error processing" in text and "Traceback" in text and "disk full" in text
