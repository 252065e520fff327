"""Compressed inputs, a corrupt archive and a file name that is not UTF-8, in one real run.

None of them may fail the job: compressed files are decompressed by Beam (by
extension), a corrupt one gives a dead letter, a badly named one gives a dead
letter per line, and the other files of the glob are read as usual.
"""

from __future__ import annotations

import bz2
import gzip
import os

import pytest
import zstandard

from support.pipeline_outputs import assert_each_record_once, read_json_lines
from trt_text_classifier.run import run_pipeline, summarize

LINES = b"A warm and funny film.\n\nDull and wooden.\n"


@pytest.fixture(scope="module")
def odd_run(demo_onnx: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    directory = tmp_path_factory.mktemp("odd-files")
    inputs = directory / "in"
    inputs.mkdir()
    (inputs / "plain.txt").write_bytes(LINES)
    (inputs / "a.txt.gz").write_bytes(gzip.compress(LINES))
    (inputs / "b.txt.bz2").write_bytes(bz2.compress(LINES))
    (inputs / "c.txt.zst").write_bytes(zstandard.ZstdCompressor().compress(LINES))
    (inputs / "corrupt.txt.gz").write_bytes(gzip.compress(LINES)[:20] + b"\x00garbage")
    os.makedirs(os.fsencode(inputs), exist_ok=True)
    with open(os.path.join(os.fsencode(inputs), b"caf\xe9.txt"), "wb") as handle:
        handle.write(LINES)
    _, result = run_pipeline(
        [
            f"--input={inputs}/*",
            f"--output={directory / 'out' / 'predictions'}",
            f"--onnx_path={demo_onnx}",
            "--runner=DirectRunner",
        ],
        wait=True,
    )
    return {
        "inputs": str(inputs),
        "predictions": read_json_lines(str(directory / "out" / "predictions")),
        "dead_letters": read_json_lines(str(directory / "out" / "dead_letters" / "predictions")),
        "summary": summarize(result),
    }


@pytest.mark.parametrize("name", ["plain.txt", "a.txt.gz", "b.txt.bz2", "c.txt.zst"])
def test_compressed_files_are_read_like_plain_ones(odd_run: dict, name: str) -> None:
    path = f"{odd_run['inputs']}/{name}"
    mine = {row["id"]: row["text"] for row in odd_run["predictions"] if row["id"].startswith(path)}
    assert mine == {f"{path}:1": "A warm and funny film.", f"{path}:3": "Dull and wooden."}


def test_a_corrupt_archive_is_one_dead_letter_and_fails_nothing_else(odd_run: dict) -> None:
    path = f"{odd_run['inputs']}/corrupt.txt.gz"
    letters = [row for row in odd_run["dead_letters"] if row["id"].startswith(path)]
    assert [(row["id"], row["stage"]) for row in letters] == [(path, "read")]
    assert letters[0]["error"].startswith("the file could not be read after line 0 (")


def test_a_file_name_that_is_not_utf8_gives_a_dead_letter_per_line(odd_run: dict) -> None:
    path = f"{odd_run['inputs']}/caf\\xe9.txt"
    letters = [row for row in odd_run["dead_letters"] if row["id"].startswith(path)]
    assert sorted((row["id"], row["input"], row["stage"]) for row in letters) == [
        (f"{path}:1", "A warm and funny film.", "read"),
        (f"{path}:3", "Dull and wooden.", "read"),
    ]
    assert "file name is not valid UTF-8" in letters[0]["error"]


def test_every_record_of_the_run_is_accounted_for_once(odd_run: dict) -> None:
    inputs = odd_run["inputs"]
    expected = [
        f"{inputs}/{name}:{line}"
        for name in ("plain.txt", "a.txt.gz", "b.txt.bz2", "c.txt.zst", "caf\\xe9.txt")
        for line in (1, 3)
    ] + [f"{inputs}/corrupt.txt.gz"]
    assert_each_record_once(expected, odd_run["predictions"], odd_run["dead_letters"])
    assert odd_run["summary"].predictions == 8
