"""TensorRT backend: host-side runtime logic against test doubles, and its refusals for real."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

from support.engine_doubles import FakeContext, FakeMemory, expected_logits, make_sidecar
from support.repository import run_python
from trt_text_classifier.backends.base import BackendError, BackendLimits
from trt_text_classifier.backends.tensorrt_backend import (
    EngineMismatchError,
    EngineRunner,
    TensorRTBackend,
    check_engine_validity,
    create_context,
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


class EngineWithoutMemory:
    """A deserialized engine whose context cannot be created (device memory exhausted)."""

    device_memory_size_v2 = 300 << 20

    def create_execution_context(self) -> None:
        return None


def test_a_context_that_cannot_be_created_names_the_engine_and_the_free_memory() -> None:
    with pytest.raises(BackendError) as error:
        create_context(EngineWithoutMemory(), "gs://b/e.plan", free_memory=lambda: 120 << 20)
    assert str(error.value) == (
        "gs://b/e.plan: TensorRT could not create an execution context: the engine needs "
        "300 MiB of device memory and 120 MiB are free; free GPU memory (one engine per GPU: "
        "load it once per worker) or build the engine with a smaller --batch/--seq MAX"
    )


class RuntimeSaying:
    """A runtime whose TensorRT-RTX validity query returns a fixed verdict."""

    def __init__(self, validity, diagnostics: int) -> None:
        self.verdict = (validity, diagnostics)

    def get_engine_validity(self, data: bytes) -> tuple:
        return self.verdict


def test_an_engine_tensorrt_rtx_calls_invalid_is_refused_with_its_reasons() -> None:
    rtx = pytest.importorskip("tensorrt_rtx")
    reasons = rtx.EngineInvalidityDiagnostics
    runtime = RuntimeSaying(
        rtx.EngineValidity.INVALID, int(reasons.VERSION_MISMATCH) | int(reasons.UNSUPPORTED_CC)
    )
    with pytest.raises(EngineMismatchError) as error:
        check_engine_validity(rtx, runtime, b"engine", make_sidecar(), "e.plan")
    assert str(error.value) == (
        f"e.plan: tensorrt-rtx {rtx.__version__} says the engine cannot run here "
        "(VERSION_MISMATCH, UNSUPPORTED_CC); rebuild it where it will run: "
        + make_sidecar().rebuild_command("e.plan")
    )
    valid = RuntimeSaying(rtx.EngineValidity.VALID, 0)
    check_engine_validity(rtx, valid, b"engine", make_sidecar(), "e.plan")
    check_engine_validity(rtx, object(), b"engine", make_sidecar(), "e.plan")


def test_a_local_engine_loads_without_beam(demo_engines, tmp_path) -> None:
    """The GPU machine that runs the backend's own tests has no Beam: local paths need none."""
    script = (
        "import sys; sys.modules['apache_beam'] = None\n"
        "from trt_text_classifier.backends.base import BackendError\n"
        "from trt_text_classifier.backends.tensorrt_backend import TensorRTBackend\n"
        "try:\n"
        f"    TensorRTBackend.from_path({str(demo_engines['fp32'])!r})\n"
        "except BackendError as error:\n"
        "    print(str(error).split(' (')[0])\n"
    )
    result = run_python("-c", script)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == "no usable NVIDIA GPU here\n"


def test_close_lets_the_execution_context_go_and_later_calls_are_refused() -> None:
    """TensorRT frees a context's device memory when the last reference to it goes."""
    memory = FakeMemory()
    sidecar = make_sidecar()
    context = FakeContext(memory, sidecar)
    runner = EngineRunner(context, sidecar, memory)
    released = weakref.ref(context)
    del context
    runner.close()
    gc.collect()
    assert released() is None
    with pytest.raises(
        BackendError, match=r"^the TensorRT engine was closed; load the model again$"
    ):
        runner.infer(make_batch(1, 4))
