"""TensorRT backend: host-side runtime logic against test doubles, and its refusals for real."""

from __future__ import annotations

import numpy as np
import pytest

from engine_doubles import FakeContext, FakeMemory, expected_logits, make_sidecar
from trt_text_classifier.backends.base import BackendError, BackendLimits
from trt_text_classifier.backends.tensorrt_backend import (
    EngineMismatchError,
    EngineRunner,
    TensorRTBackend,
    probe_runtime,
)

NAMES = ("input_ids", "attention_mask", "token_type_ids")


def make_runner(**sidecar_options) -> tuple[EngineRunner, FakeContext, FakeMemory]:
    memory = FakeMemory()
    sidecar = make_sidecar(**sidecar_options)
    context = FakeContext(memory, sidecar)
    runner = EngineRunner(context, sidecar, memory)
    return runner, context, memory


def make_batch(batch: int, sequence: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, 100, size=(batch, sequence), dtype=np.int64)
    mask = (rng.random((batch, sequence)) < 0.8).astype(np.int64)
    mask[:, 0] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}


def test_buffers_are_allocated_once_for_the_profile_maximum_and_bound_once() -> None:
    runner, context, memory = make_runner()
    assert [(b.dtype.name, b.capacity) for b in memory.buffers] == [
        ("int64", 4 * 16),
        ("int64", 4 * 16),
        ("int64", 4 * 16),
        ("float32", 4 * 2),
    ]
    assert context.addresses == {
        "input_ids": 0x1000,
        "attention_mask": 0x2000,
        "token_type_ids": 0x3000,
        "logits": 0x4000,
    }
    assert runner.limits == BackendLimits(max_batch_size=4, max_sequence_length=16)
    runner.infer(make_batch(3, 5))
    runner.infer(make_batch(2, 7))
    assert len(memory.buffers) == 4
    assert len(memory.streams) == 1


def test_one_batch_sets_every_shape_copies_the_batch_bytes_and_synchronizes_once() -> None:
    runner, context, memory = make_runner()
    batch = make_batch(3, 5)
    logits = runner.infer(batch)
    np.testing.assert_array_equal(
        logits, expected_logits(batch["input_ids"], batch["attention_mask"])
    )
    assert logits.dtype == np.float32
    assert context.shape_calls == [(name, (3, 5)) for name in NAMES]
    assert [b.copies for b in memory.buffers] == [
        [("to_device", 3 * 5 * 8)],
        [("to_device", 3 * 5 * 8)],
        [("to_device", 3 * 5 * 8)],
        [("to_host", 3 * 2 * 4)],
    ]
    assert context.executions == [memory.streams[0].handle]
    assert memory.streams[0].synchronized == 1


def test_inputs_are_cast_to_the_engine_dtype() -> None:
    runner, _, memory = make_runner(input_dtype="int32")
    batch = make_batch(2, 6)
    logits = runner.infer(batch)
    np.testing.assert_array_equal(
        logits, expected_logits(batch["input_ids"], batch["attention_mask"])
    )
    assert memory.buffers[0].copies == [("to_device", 2 * 6 * 4)]
    np.testing.assert_array_equal(
        memory.buffers[0].host[:12], batch["input_ids"].reshape(-1).astype(np.int32)
    )


def test_batches_above_the_profile_maximum_are_split() -> None:
    runner, context, memory = make_runner()
    batch = make_batch(10, 9, seed=3)
    logits = runner.infer(batch)
    np.testing.assert_array_equal(
        logits, expected_logits(batch["input_ids"], batch["attention_mask"])
    )
    assert [shape for name, shape in context.shape_calls if name == "input_ids"] == [
        (4, 9),
        (3, 9),
        (3, 9),
    ]
    assert memory.buffers[3].copies == [("to_host", 32), ("to_host", 24), ("to_host", 24)]
    assert memory.streams[0].synchronized == 3


def test_results_are_copies_not_views_of_the_reused_buffers() -> None:
    runner, _, memory = make_runner()
    first_batch, second_batch = make_batch(2, 4, seed=1), make_batch(2, 4, seed=2)
    first = runner.infer(first_batch)
    kept = first.copy()
    runner.infer(second_batch)
    np.testing.assert_array_equal(first, kept)
    assert not np.shares_memory(first, memory.buffers[3].host)


def test_empty_batch_returns_no_rows() -> None:
    runner, context, _ = make_runner()
    logits = runner.infer(make_batch(0, 5))
    assert logits.shape == (0, 2)
    assert context.executions == []


def test_failed_execution_raises() -> None:
    runner, context, _ = make_runner()
    context.fail_execution = True
    with pytest.raises(BackendError, match="execute_async_v3 failed"):
        runner.infer(make_batch(1, 4))


def test_close_frees_every_buffer_and_the_stream_once() -> None:
    runner, _, memory = make_runner()
    runner.close()
    runner.close()
    assert [b.closed for b in memory.buffers] == [True] * 4
    assert memory.streams[0].closed


def test_probe_runtime_without_a_gpu_says_what_is_missing() -> None:
    """Real: this machine has tensorrt_rtx but no GPU driver, and no full tensorrt."""
    with pytest.raises(EngineMismatchError) as error:
        probe_runtime("tensorrt")
    assert str(error.value).startswith(
        "the engine needs the tensorrt runtime (Python module tensorrt), which is not installed here"
    )
    pytest.importorskip("cuda.bindings")
    with pytest.raises(EngineMismatchError) as error:
        probe_runtime("tensorrt-rtx")
    assert str(error.value).startswith("no usable NVIDIA GPU here (")


def test_engine_with_a_changed_file_is_refused_by_its_sha256(tmp_path) -> None:
    sidecar = make_sidecar()
    engine = tmp_path / "model.plan"
    engine.write_bytes(b"not the engine that was built")
    (tmp_path / "model.plan.json").write_text(sidecar.model_dump_json())
    with pytest.raises(BackendError) as error:
        TensorRTBackend.from_path(str(engine))
    assert str(error.value) == (
        f"{engine}: its SHA-256 differs from engine_sha256 in its sidecar; the engine or the "
        "sidecar was replaced after the build: copy both files from one build"
    )
