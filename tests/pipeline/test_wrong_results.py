"""Inputs and models that used to give wrong results with exit code 0.

Non-finite logits, CR-only line endings, UTF-16/32 files, a too small
max_seq_length, an ONNX file whose name does not end in `.onnx`, duplicate
labels. Real pipeline runs on the DirectRunner with the demo model.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from support.pipeline_outputs import assert_each_record_once, read_json_lines
from trt_text_classifier.errors import ParameterError
from trt_text_classifier.launch.preflight import read_bundle_manifest
from trt_text_classifier.run import run_pipeline
from trt_text_classifier.serving.loading import load_tokenizer


def copy_bundle(demo_bundle: Path, directory: Path) -> Path:
    shutil.copytree(demo_bundle, directory, dirs_exist_ok=True)
    return directory


def rewrite_manifest(directory: Path, **changes: object) -> None:
    manifest = json.loads((directory / "bundle.json").read_text())
    manifest.update(changes)
    (directory / "bundle.json").write_text(json.dumps(manifest))


def run_files(inputs: Path, onnx_path: str, out: Path, *extra: str) -> tuple[list, list]:
    run_pipeline(
        [
            f"--input={inputs}",
            f"--output={out / 'predictions'}",
            f"--onnx_path={onnx_path}",
            "--runner=DirectRunner",
            *extra,
        ],
        wait=True,
    )
    return (
        read_json_lines(str(out / "predictions")),
        read_json_lines(str(out / "dead_letters" / "predictions")),
    )


def non_finite_model(source: Path, target: Path) -> None:
    """The demo model with its logits scaled by sqrt(n - 3.5) / (n - 5), n = real tokens.

    Three tokens give NaN logits, five give infinite ones, every other length finite ones.
    """
    model = onnx.load(str(source))
    (output,) = model.graph.output
    for node in model.graph.node:
        node.output[:] = ["raw_logits" if name == output.name else name for name in node.output]
    constants = {
        "axis_one": helper.make_tensor("axis_one", TensorProto.INT64, [1], [1]),
        "three_and_a_half": helper.make_tensor("three_and_a_half", TensorProto.FLOAT, [], [3.5]),
        "five": helper.make_tensor("five", TensorProto.FLOAT, [], [5.0]),
    }
    model.graph.initializer.extend(constants.values())
    model.graph.node.extend(
        [
            helper.make_node("Cast", ["attention_mask"], ["mask"], to=TensorProto.FLOAT),
            helper.make_node("ReduceSum", ["mask", "axis_one"], ["count"], keepdims=1),
            helper.make_node("Sub", ["count", "three_and_a_half"], ["shifted"]),
            helper.make_node("Sqrt", ["shifted"], ["root"]),
            helper.make_node("Sub", ["count", "five"], ["denominator"]),
            helper.make_node("Div", ["root", "denominator"], ["scale"]),
            helper.make_node("Mul", ["raw_logits", "scale"], [output.name]),
        ]
    )
    onnx.save(model, str(target))


def test_non_finite_logits_are_dead_letters_not_predictions(
    demo_bundle: Path, tmp_path: Path
) -> None:
    directory = copy_bundle(demo_bundle, tmp_path / "model")
    non_finite_model(demo_bundle / "model.onnx", directory / "model.onnx")
    rewrite_manifest(
        directory, onnx_sha256=hashlib.sha256((directory / "model.onnx").read_bytes()).hexdigest()
    )
    tokenizer = load_tokenizer(str(directory / "model.onnx"), None, 64)
    candidates = ["film", "film .", "a film .", "the film is dull .", "warm", "a warm film"]
    counts = dict(zip(candidates, tokenizer.count_tokens(candidates), strict=True))
    assert {3, 5} <= set(counts.values()) and any(n > 5 for n in counts.values()), counts
    inputs = tmp_path / "in.txt"
    inputs.write_text("\n".join(candidates) + "\n", encoding="utf-8")

    predictions, dead_letters = run_files(inputs, str(directory / "model.onnx"), tmp_path / "out")

    ids = [f"{inputs}:{line}" for line in range(1, len(candidates) + 1)]
    assert_each_record_once(ids, predictions, dead_letters)
    expected_dead = {f"{inputs}:{i + 1}" for i, c in enumerate(candidates) if counts[c] in (3, 5)}
    assert {row["id"] for row in dead_letters} == expected_dead
    for row in dead_letters:
        assert row["stage"] == "inference"
        assert "non-finite logits" in row["error"]
    for row in predictions:
        assert np.isfinite(row["score"]) and all(np.isfinite(list(row["probabilities"].values())))


@pytest.fixture(scope="module")
def encoded_run(demo_onnx: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """CR-only, UTF-16 (LE, BE) and UTF-32 files: one run over all of them."""
    directory = tmp_path_factory.mktemp("encodings")
    inputs = directory / "in"
    inputs.mkdir()
    lines = ["A warm and funny film.", "", "Dull and wooden.", "Café crème, naïve plot."]
    text = "\n".join(lines) + "\n"
    (inputs / "mac.txt").write_bytes(text.replace("\n", "\r").encode("utf-8"))
    (inputs / "utf16le.txt").write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    (inputs / "utf16be.txt").write_bytes(
        b"\xfe\xff" + text.replace("\n", "\r\n").encode("utf-16-be")
    )
    (inputs / "utf32.txt").write_bytes(text.encode("utf-32"))
    predictions, dead_letters = run_files(inputs / "*.txt", demo_onnx, directory / "out")
    return inputs, {"predictions": predictions, "dead_letters": dead_letters}


@pytest.mark.parametrize("name", ["mac.txt", "utf16le.txt", "utf16be.txt", "utf32.txt"])
def test_cr_only_and_utf16_32_files_give_the_right_records(
    encoded_run: tuple[Path, dict], name: str
) -> None:
    inputs, outputs = encoded_run
    mine = [row for row in outputs["predictions"] if row["id"].startswith(f"{inputs / name}:")]
    assert {row["id"]: row["text"] for row in mine} == {
        f"{inputs / name}:1": "A warm and funny film.",
        f"{inputs / name}:3": "Dull and wooden.",
        f"{inputs / name}:4": "Café crème, naïve plot.",
    }
    assert not [row for row in outputs["dead_letters"] if name in row["id"]]


def test_max_seq_length_below_special_tokens_plus_one_word_is_refused(demo_onnx: str) -> None:
    for value in ("1", "2"):
        with pytest.raises(ParameterError) as raised:
            run_pipeline(
                [
                    "--input=x.txt",
                    "--output=o",
                    f"--onnx_path={demo_onnx}",
                    f"--max_seq_length={value}",
                ],
                wait=False,
            )
        assert str(raised.value).startswith(
            f"--max_seq_length='{value}': Input should be greater than or equal to 3"
        )


def test_the_parameter_not_the_suffix_chooses_the_backend(
    demo_bundle: Path, tmp_path: Path
) -> None:
    directory = copy_bundle(demo_bundle, tmp_path / "model")
    (directory / "model.onnx").rename(directory / "model.ONNX")
    inputs = tmp_path / "in.txt"
    inputs.write_text("A warm and funny film.\n", encoding="utf-8")

    predictions, dead_letters = run_files(inputs, str(directory / "model.ONNX"), tmp_path / "out")

    assert [row["id"] for row in predictions] == [f"{inputs}:1"]
    assert dead_letters == []


def test_a_bundle_with_duplicate_labels_is_refused(demo_bundle: Path, tmp_path: Path) -> None:
    directory = copy_bundle(demo_bundle, tmp_path / "model")
    rewrite_manifest(directory, labels=["positive", "positive"])

    with pytest.raises(ParameterError) as raised:
        read_bundle_manifest(str(directory / "model.onnx"))

    message = str(raised.value)
    assert message.startswith(f"--onnx_path='{directory / 'model.onnx'}': {directory}/bundle.json")
    assert "label 'positive' appears more than once" in message
    assert "\n" not in message


def test_an_engine_sidecar_with_duplicate_labels_is_refused(tmp_path: Path) -> None:
    from support.engine_doubles import make_sidecar
    from trt_text_classifier.launch.preflight import read_engine_sidecar

    engine = tmp_path / "e.plan"
    engine.write_bytes(b"engine")
    sidecar = json.loads(make_sidecar().model_dump_json())
    sidecar["labels"] = ["negative", "negative"]
    (tmp_path / "e.plan.json").write_text(json.dumps(sidecar))

    with pytest.raises(ParameterError) as raised:
        read_engine_sidecar(str(engine))

    assert str(raised.value) == (
        f"--engine_path={str(engine)!r}: {engine}.json is invalid: labels: label 'negative' "
        "appears more than once; each logits column needs its own name (the probabilities are "
        "keyed by label)"
    )
