"""Hostile records (issue 19, section 2): whatever a record holds, it ends as one prediction
or one dead letter, and the job goes on. Real DirectRunner runs through the CLI's runner.

Before the per-record rule (`records.per_record`) these runs failed or lost records: a low
surrogate escape (\\udc00) killed the job in the tokenizer ("TextEncodeInput must be
Union[...]" while running OrderByLength), a lone CR split a
JSON record into two dead letters and shifted later ids, a truncated .bz2 lost every line with
exit 0 (and so did a truncated .zst), a truncated .gz gave half a line as a record, `-0` came out as `0`, and zero-width text
was classified from [CLS][SEP] alone.
"""

from __future__ import annotations

import bz2
import gzip
import json
import random
from pathlib import Path

import pytest
import zstandard

from support.pipeline_outputs import assert_each_record_once, read_json_lines
from trt_text_classifier.run import run_pipeline, summarize

GOOD = [f"a warm and funny film number {i}" for i in range(2000)]


def _run(directory: Path, pattern: str, demo_onnx: str, *extra: str) -> dict:
    _, result = run_pipeline(
        [
            f"--input={pattern}",
            f"--output={directory / 'out' / 'predictions'}",
            f"--onnx_path={demo_onnx}",
            "--max_seq_length=32",
            "--runner=DirectRunner",
            *extra,
        ],
        wait=True,
    )
    predictions = read_json_lines(str(directory / "out" / "predictions"))
    dead_letters = read_json_lines(str(directory / "out" / "dead_letters" / "predictions"))
    return {
        "predictions": {row["id"]: row for row in predictions},
        "dead_letters": {row["id"]: row for row in dead_letters},
        "rows": (predictions, dead_letters),
        "summary": summarize(result),
    }


DEEP = "[" * 450 + "]" * 450
JSON_LINES = [
    '{"id": "ok-1", "text": "a good film"}',
    '{"id": "low-text", "text": "a \\udc00 b"}',
    '{"id": "low-key", "text": "x", "k\\udfff": 1}',
    '{"id": "low-field", "text": "x", "other": "\\udc80"}',
    '{"id": "\\udc00", "text": "x"}',
    '{"id": "deep", "text": "x", "nested": ' + DEEP + "}",
    '{"id": "minus-zero", "text": "a fine film", "n": -0, "m": -0.0}',
    '{"id": "cr",\r"text": "a film"}',
    '{"id": "zero-width", "text": "\\u200b\\u200b\\u0001"}',
    '{"id": "ok-2", "text": "after a lone CR"}',
]


@pytest.fixture(scope="module")
def jsonl_run(tmp_path_factory: pytest.TempPathFactory, demo_onnx: str) -> dict:
    directory = tmp_path_factory.mktemp("hostile_jsonl")
    inputs = directory / "in"
    inputs.mkdir()
    (inputs / "r.jsonl").write_bytes("\n".join(JSON_LINES).encode("utf-8") + b"\n")
    run = _run(directory, f"{inputs}/*.jsonl", demo_onnx, "--input_format=jsonl")
    run["path"] = f"{inputs}/r.jsonl"
    return run


def test_every_hostile_json_record_is_one_outcome(jsonl_run: dict) -> None:
    path = jsonl_run["path"]
    ids = ["ok-1", "low-text", "low-key", "low-field", f"{path}:5", "deep"]
    ids += ["minus-zero", "cr", "zero-width", "ok-2"]
    assert_each_record_once(ids, *jsonl_run["rows"])
    dead = jsonl_run["dead_letters"]
    for record_id in ("low-text", "low-key", "low-field", f"{path}:5", "deep"):
        assert dead[record_id]["stage"] == "parse", dead[record_id]
    assert "surrogate" in dead["low-text"]["error"]
    assert "64 levels" in dead["deep"]["error"]
    assert dead["zero-width"]["stage"] == "tokenize"
    assert set(jsonl_run["predictions"]) == {"ok-1", "minus-zero", "cr", "ok-2"}


def test_minus_zero_travels_exactly(jsonl_run: dict) -> None:
    assert jsonl_run["predictions"]["minus-zero"]["fields"] == {"n": 0, "m": -0.0}
    directory = Path(jsonl_run["path"]).parent.parent / "out"
    text = "".join(path.read_text() for path in directory.glob("predictions*"))
    assert '"fields": {"n": -0, "m": -0.0}' in text


LF_LINES = [b"first line", b"a lone \r inside", b"third", b'{"text": "x"}\r', b"fifth"]


def _zstd_in_blocks(data: bytes, size: int) -> bytes:
    """One zstd frame of many blocks, so that a cut in the middle follows whole lines."""
    compressor = zstandard.ZstdCompressor().compressobj()
    pieces = []
    for start in range(0, len(data), size):
        pieces.append(compressor.compress(data[start : start + size]))
        pieces.append(compressor.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK))
    return b"".join([*pieces, compressor.flush()])


@pytest.fixture(scope="module")
def files_run(tmp_path_factory: pytest.TempPathFactory, demo_onnx: str) -> dict:
    directory = tmp_path_factory.mktemp("hostile_files")
    inputs = directory / "in"
    inputs.mkdir()
    (inputs / "lf.txt").write_bytes(b"\n".join(LF_LINES) + b"\n")
    (inputs / "empty_tokens.txt").write_bytes("\u200b\u200b\n\x01\x02\nreal words\n".encode())
    lines = b"".join(f"{text}\n".encode() for text in GOOD)
    (inputs / "cut.txt.gz").write_bytes(gzip.compress(lines)[: len(gzip.compress(lines)) // 2])
    (inputs / "cut.txt.bz2").write_bytes(bz2.compress(lines)[: len(bz2.compress(lines)) // 2])
    zst = _zstd_in_blocks(lines, 4096)
    (inputs / "cut.txt.zst").write_bytes(zst[: len(zst) // 2])
    (inputs / "long.txt").write_bytes(b"word " * 2_000_000 + b"\n")
    run = _run(directory, f"{inputs}/*", demo_onnx)
    run["inputs"] = inputs
    return run


def test_a_lone_cr_in_an_lf_file_splits_nothing(files_run: dict) -> None:
    path = f"{files_run['inputs']}/lf.txt"
    texts = {key: row["text"] for key, row in files_run["predictions"].items()}
    assert texts[f"{path}:2"] == "a lone \r inside"
    assert texts[f"{path}:5"] == "fifth"  # `sed -n 5p`
    assert f"{path}:6" not in texts


def test_text_with_nothing_to_tokenize_is_a_dead_letter(files_run: dict) -> None:
    path = f"{files_run['inputs']}/empty_tokens.txt"
    dead = files_run["dead_letters"]
    assert dead[f"{path}:1"]["stage"] == "tokenize"
    assert dead[f"{path}:2"]["stage"] == "tokenize"
    assert f"{path}:3" in files_run["predictions"]


@pytest.mark.parametrize("name", ["cut.txt.gz", "cut.txt.bz2", "cut.txt.zst"])
def test_a_truncated_archive_keeps_whole_lines_and_names_where_it_stopped(
    files_run: dict, name: str
) -> None:
    path = f"{files_run['inputs']}/{name}"
    dead = files_run["dead_letters"][path]
    assert dead["stage"] == "read"
    assert "could not be read after line" in dead["error"]
    read = [key for key in files_run["predictions"] if key.startswith(path + ":")]
    stopped = int(dead["error"].split("after line ")[1].split(" ")[0])
    assert stopped < len(GOOD)
    assert stopped > 0 or name.endswith(".bz2")  # bz2's one 900 kB block holds every line
    assert sorted(int(key.rsplit(":", 1)[1]) for key in read) == list(range(1, stopped + 1))
    for key in read:  # nothing from a partial line
        number = int(key.rsplit(":", 1)[1])
        assert files_run["predictions"][key]["text"] == GOOD[number - 1]


def test_a_10_mb_line_is_cut_before_tokenizing_and_classified(files_run: dict) -> None:
    row = files_run["predictions"][f"{files_run['inputs']}/long.txt:1"]
    assert row["label"] in ("negative", "positive")
    assert files_run["summary"].truncated_records >= 1


def _hostile_lines(seed: int, json_lines: bool) -> list[bytes]:
    rng = random.Random(seed)
    lines: list[bytes] = []
    for number in range(rng.randint(30, 60)):
        kind = rng.choice(["good", "good", "bytes", "surrogate", "deep", "cr", "nul", "long"])
        text = f"good film {number}"
        if kind == "bytes":
            raw = b"caf\xe9 \xff\xfe " + text.encode()
        elif kind == "surrogate":
            raw = (json.dumps(text)[:-1] + f'\\udc{rng.randrange(256):02x}"').encode()
        elif kind == "deep":
            raw = (DEEP if json_lines else "[" * 500).encode()
        elif kind == "cr":
            raw = f"good \r film {number}".encode()
        elif kind == "nul":
            raw = f"\x00 film {number} \x00".encode()
        elif kind == "long":
            raw = ("long " * rng.randint(1000, 50_000)).encode()
        else:
            raw = text.encode()
        if json_lines and kind not in ("deep", "bytes"):
            body = raw.decode() if kind == "surrogate" else json.dumps(raw.decode())
            raw = b'{"text": ' + body.encode() + b', "n": -0}'
        lines.append(raw)
    return lines


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_mixes_of_good_and_hostile_lines_are_each_one_outcome(
    tmp_path: Path, demo_onnx: str, seed: int
) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    expected = []
    for json_lines, name in ((False, "t.txt"), (True, "j.jsonl")):
        lines = _hostile_lines(seed, json_lines)
        (inputs / name).write_bytes(b"\n".join(lines) + b"\n")
        expected += [f"{inputs}/{name}:{number}" for number in range(1, len(lines) + 1)]
    text_run = _run(tmp_path / "t", f"{inputs}/*.txt", demo_onnx)
    json_run = _run(tmp_path / "j", f"{inputs}/*.jsonl", demo_onnx, "--input_format=jsonl")
    predictions = text_run["rows"][0] + json_run["rows"][0]
    dead_letters = text_run["rows"][1] + json_run["rows"][1]
    assert_each_record_once(expected, predictions, dead_letters)
