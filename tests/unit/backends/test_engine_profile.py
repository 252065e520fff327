"""Batches that fit the engine's optimization profile whatever Beam and the tokenizer hand over.

TensorRT refuses input shapes below the profile's MIN; the tokenizer pads to the
batch's longest record and Beam forms batches of any size from 1. The runner
pads columns (pad id, mask 0) and rows (dropping their logits) up to MIN, and
splits large batches so that no chunk falls below MIN. The execution context
is the strict double (`set_input_shape` False outside the profile); the
profiles come from the test's arguments and from real TensorRT-RTX builds.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from support.engine_builds import build_engine
from support.engine_doubles import EngineDoubleBackend, FakeContext, FakeMemory, expected_logits
from support.engine_doubles import make_sidecar as make_double_sidecar
from trt_text_classifier.backends.base import BackendError
from trt_text_classifier.backends.tensorrt_backend import EngineRunner
from trt_text_classifier.serving.classifier import TextClassifier
from trt_text_classifier.serving.tokenization import BatchTokenizer
from trt_text_classifier.sidecar import EngineSidecar, TensorSpec


def make_runner(sidecar: EngineSidecar) -> tuple[EngineRunner, FakeContext, FakeMemory]:
    memory = FakeMemory()
    context = FakeContext(memory, sidecar)
    return EngineRunner(context, sidecar, memory), context, memory


def make_batch(batch: int, sequence: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, 100, size=(batch, sequence), dtype=np.int64)
    mask = np.ones_like(ids)
    mask[:, sequence // 2 + 1 :] = rng.integers(0, 2, size=(batch, sequence - sequence // 2 - 1))
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}


def shapes_run(context: FakeContext) -> list[tuple[int, ...]]:
    return [shape for name, shape in context.shape_calls if name == "input_ids"]


def assert_logits_of(batch: dict[str, np.ndarray], logits: np.ndarray) -> None:
    np.testing.assert_array_equal(
        logits, expected_logits(batch["input_ids"], batch["attention_mask"])
    )


def test_sequences_below_the_minimum_are_padded_with_the_pad_id_and_mask_0() -> None:
    runner, context, memory = make_runner(make_double_sidecar(sequence=(8, 16, 32)))
    batch = make_batch(3, 5)
    assert_logits_of(batch, runner.infer(batch))
    assert context.shape_calls == [(name, (3, 8)) for name in batch]
    ids, mask = (memory.buffers[index].host[:24].reshape(3, 8) for index in (0, 1))
    np.testing.assert_array_equal(ids[:, :5], batch["input_ids"])
    np.testing.assert_array_equal(ids[:, 5:], 0)
    np.testing.assert_array_equal(mask[:, 5:], 0)


def test_batches_below_the_minimum_get_rows_whose_logits_are_dropped() -> None:
    runner, context, _ = make_runner(make_double_sidecar(batch=(3, 4, 8)))
    batch = make_batch(1, 6)
    logits = runner.infer(batch)
    assert logits.shape == (1, 2)
    assert_logits_of(batch, logits)
    assert shapes_run(context) == [(3, 6)]


@pytest.mark.parametrize(
    ("rows", "chunks"),
    [(10, [(4, 7), (3, 7), (3, 7)]), (5, [(3, 7), (3, 7)]), (8, [(4, 7), (4, 7)]), (2, [(3, 7)])],
)
def test_large_batches_split_into_chunks_none_below_the_minimum(
    rows: int, chunks: list[tuple[int, int]]
) -> None:
    runner, context, _ = make_runner(make_double_sidecar(batch=(3, 3, 4)))
    batch = make_batch(rows, 7, seed=rows)
    assert_logits_of(batch, runner.infer(batch))
    assert shapes_run(context) == chunks


def test_sequences_above_the_maximum_are_refused_with_the_fix() -> None:
    runner, context, _ = make_runner(make_double_sidecar(sequence=(4, 8, 16)))
    with pytest.raises(BackendError) as error:
        runner.infer(make_batch(2, 17))
    assert str(error.value) == (
        "sequence length 17 is above the engine's profile maximum of 16 tokens; set "
        "--max_seq_length to at most 16 or rebuild the engine with a larger --seq MAX"
    )
    assert context.executions == []


def test_short_sequences_without_an_attention_mask_are_refused_with_the_fix() -> None:
    sidecar = make_double_sidecar(sequence=(8, 16, 32)).model_copy(
        update={"inputs": (TensorSpec(name="input_ids", shape=(-1, -1), dtype="int64"),)}
    )
    runner, _, _ = make_runner(sidecar)
    with pytest.raises(BackendError) as error:
        runner.infer({"input_ids": np.ones((2, 5), dtype=np.int64)})
    assert str(error.value) == (
        "sequence length 5 is below the engine's profile minimum of 8 tokens and the engine "
        "has no attention_mask input to pad it with; rebuild the engine with --seq 1,16,32"
    )


@pytest.fixture(scope="module")
def engine_with_minimums(demo_onnx: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real TensorRT-RTX build of the demo model whose profile MINs are above 1."""
    engine = tmp_path_factory.mktemp("minimums") / "minimums.plan"
    arguments = ["--onnx", demo_onnx, "--output", str(engine), "--precision", "fp32"]
    assert build_engine(*arguments, "--batch", "2,4,8", "--seq", "8,16,32") == 0
    return engine


def test_a_real_engine_profile_serves_one_short_record_and_splits_large_batches(
    engine_with_minimums: Path,
) -> None:
    sidecar = EngineSidecar.model_validate(
        json.loads(Path(f"{engine_with_minimums}.json").read_text())
    )
    assert (sidecar.batch.min, sidecar.sequence.min) == (2, 8)
    tokenizer = BatchTokenizer.from_pretrained(
        sidecar.tokenizer_location(str(engine_with_minimums)), max_seq_length=32
    )
    backend = EngineDoubleBackend(sidecar)
    classifier = TextClassifier(tokenizer, backend, sidecar.labels, "engine double")
    assert tokenizer.encode(["Great!"], sidecar.input_names).shape[1] < sidecar.sequence.min
    for texts in (["Great!"], ["Great!", "Dull."], ["A fine, warm film."] * 9):
        arrays = tokenizer.encode(texts, sidecar.input_names).arrays
        logits = backend.infer(arrays)
        assert_logits_of(arrays, logits)
        assert len(classifier.classify(texts).classifications) == len(texts)
    classifier.close()
