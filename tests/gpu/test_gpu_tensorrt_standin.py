"""The real TensorRT serving path on a real GPU, with the strict TensorRT stand-in.

Runs without Beam and TensorRT (`support/tensorrt_standin.py` says what the stand-in
enforces, what it proves and what only real TensorRT proves):

    PYTHONPATH=template python -m pytest -m gpu -s tests/gpu/test_gpu_tensorrt_standin.py

Everything goes through `TensorRTBackend.from_path` (hash, sidecar, version,
compute capability), `EngineRunner` and `CudaMemory`; the reference is ONNX
Runtime on the CPU on the same arrays. The profile's MINs are above 1
(batch 2, sequence 8), so padding and splitting are exercised. The model is the
demo model; `STANDIN_ONNX=DIR/model.onnx` names an already built bundle instead
of building it here.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from support.repository import EXAMPLES
from trt_text_classifier.backends import cuda_memory
from trt_text_classifier.backends.base import BackendError
from trt_text_classifier.sidecar import ProfileRange

pytestmark = pytest.mark.gpu
torch = pytest.importorskip("torch")

BATCH = ProfileRange(min=2, opt=8, max=16)
SEQUENCE = ProfileRange(min=8, opt=32, max=64)
VOCABULARY = 250
"""Ids below the demo model's vocabulary size."""
TOLERANCE = 2e-3
"""Largest logit difference from ONNX Runtime accepted: the same fp32 model on other kernels.
The demo model amplifies rounding near its decision boundary (one row, logits (1.14, -1.18):
1.1e-4 from ONNX Runtime with PyTorch on the CPU, 8.5e-4 on the H100); results mixed up
between callers are off by whole units."""
THREADS = 8


@pytest.fixture(scope="module")
def gpu() -> str:
    """The GPU's compute capability; skips the module where no GPU can be used."""
    try:
        if cuda_memory.device_count() < 1 or not torch.cuda.is_available():
            pytest.skip("no NVIDIA GPU")
        return cuda_memory.device_compute_capability()
    except cuda_memory.CudaError as error:
        pytest.skip(f"no usable NVIDIA GPU: {error}")


@pytest.fixture(scope="module")
def standin(gpu: str, model_onnx: str):
    """After the model's export (torch asks for tensorrt's spec, which the stand-in has not)."""
    from support import tensorrt_standin

    module = tensorrt_standin.install()
    yield tensorrt_standin
    if sys.modules.get("tensorrt") is module:
        del sys.modules["tensorrt"]


@pytest.fixture(scope="module")
def model_onnx(request: pytest.FixtureRequest) -> str:
    return os.environ.get("STANDIN_ONNX") or request.getfixturevalue("demo_onnx")


@pytest.fixture(scope="module")
def engine(standin, gpu: str, model_onnx: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("standin") / "demo.plan")
    standin.write_engine(model_onnx, path, batch=BATCH, sequence=SEQUENCE, compute_capability=gpu)
    return path


@pytest.fixture(scope="module")
def reference(model_onnx: str):
    from trt_text_classifier.backends import onnxruntime_backend

    with pytest.MonkeyPatch.context() as patch:  # the CPU, also where onnxruntime-gpu is installed
        patch.setattr(onnxruntime_backend, "choose_providers", lambda: ["CPUExecutionProvider"])
        backend = onnxruntime_backend.OnnxRuntimeBackend(model_onnx)
    assert backend.providers == ["CPUExecutionProvider"]
    yield backend
    backend.close()


def make_batch(rng: np.random.Generator, batch: int, sequence: int) -> dict[str, np.ndarray]:
    ids = rng.integers(1, VOCABULARY, size=(batch, sequence), dtype=np.int64)
    mask = np.ones_like(ids)
    lengths = rng.integers(1, sequence + 1, size=batch)
    mask[np.arange(sequence)[None, :] >= lengths[:, None]] = 0
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}


def shapes_to_test(rng: np.random.Generator) -> list[tuple[int, int]]:
    """Shapes at and below the MINs, at and above the maximum batch, and random ones."""
    fixed = [(1, 1), (1, 5), (1, 8), (2, 8), (3, 64), (16, 64), (17, 8), (33, 40), (100, 7)]
    drawn = [(int(rng.integers(1, 49)), int(rng.integers(1, 65))) for _ in range(40)]
    return fixed + drawn


def free_device_memory() -> int:
    """cudaMemGetInfo's free bytes once PyTorch's caches (the stand-in's scratch) are released."""
    gc.collect()
    torch.cuda.synchronize()
    torch._C._cuda_clearCublasWorkspaces()  # into PyTorch's cache first,
    torch.cuda.empty_cache()  # then out of it
    return cuda_memory.memory_info()[0]


def shape_of_batch(index: int) -> tuple[int, int]:
    """Batch sizes 1..40 and sequences 1..64; the pairs repeat every 320 batches."""
    return 1 + index % 40, 1 + (index * 7) % 64


def test_device_memory_is_flat_over_1000_batches_and_back_after_close(engine: str) -> None:
    """First in this module: threads of later tests leave PyTorch's per-thread cuBLAS
    workspaces behind, which are freed whenever those threads' handles are.

    The warm-up runs every batch shape once, so that the CUDA kernels the stand-in's
    PyTorch model needs are loaded (CUDA loads kernels lazily, into device memory it
    keeps) before anything is measured.
    """
    from trt_text_classifier.backends.tensorrt_backend import TensorRTBackend

    rng = np.random.default_rng(2)
    warm = TensorRTBackend.from_path(engine)
    for index in range(320):
        warm.infer(make_batch(rng, *shape_of_batch(index)))
    warm.close()
    del warm
    before = free_device_memory()
    backend = TensorRTBackend.from_path(engine)
    loaded = free_device_memory()
    measured = {}
    for index in range(1000):
        backend.infer(make_batch(rng, *shape_of_batch(index)))
        if index in (0, 999):
            measured[index] = free_device_memory()
    torch_loaded = torch.cuda.memory_allocated()
    backend.close()
    after = free_device_memory()
    mib = 1 << 20
    print(
        f"\nfree device memory (MiB): before load {before / mib:.1f}, loaded {loaded / mib:.1f}, "
        f"after batch 1 {measured[0] / mib:.1f}, after batch 1000 {measured[999] / mib:.1f}, "
        f"after close {after / mib:.1f}; PyTorch-held bytes (the stand-in's weights) before "
        f"close {torch_loaded}, after {torch.cuda.memory_allocated()}"
    )
    assert measured[0] == measured[999]
    assert after == before
    assert torch.cuda.memory_allocated() == 0


def test_logits_match_onnxruntime_on_the_cpu(engine: str, reference) -> None:
    from trt_text_classifier.backends.tensorrt_backend import TensorRTBackend

    backend = TensorRTBackend.from_path(engine)
    rng = np.random.default_rng(0)
    errors, agree, rows = [], 0, 0
    for batch, sequence in shapes_to_test(rng):
        arrays = make_batch(rng, batch, sequence)
        expected, actual = reference.infer(arrays), backend.infer(arrays)
        assert actual.shape == expected.shape
        errors.append(float(np.abs(actual - expected).max()))
        agree += int((actual.argmax(1) == expected.argmax(1)).sum())
        rows += batch
    backend.close()
    print(
        f"\nstand-in vs ONNX Runtime CPU: {len(errors)} batches, {rows} rows, "
        f"max abs logit error {max(errors):.3e}, label agreement {agree}/{rows}"
    )
    assert max(errors) <= TOLERANCE
    assert agree == rows


def run_threads(backend, work: list[list[dict]], answers: list[list[np.ndarray]]) -> tuple:
    """One thread per list of `work` calls `backend.infer` at once; (wrong, errors, seconds).

    A wrong result is described by its batch shape and largest logit error.
    """
    wrong: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(len(work) + 1)

    def call(index: int) -> None:
        start.wait()
        for arrays, answer in zip(work[index], answers[index], strict=True):
            try:
                result = backend.infer(arrays)
            except Exception as error:
                errors.append(error)
                wrong.append(f"{arrays['input_ids'].shape} raised {error!r}")
                continue
            if result.shape != answer.shape:
                wrong.append(f"{arrays['input_ids'].shape} gave shape {result.shape}")
            elif np.abs(result - answer).max() > TOLERANCE:
                error = float(np.abs(result - answer).max())
                wrong.append(f"{arrays['input_ids'].shape} off by {error:.3e}")

    threads = [threading.Thread(target=call, args=(index,)) for index in range(len(work))]
    for thread in threads:
        thread.start()
    start.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return wrong, errors, time.perf_counter() - started


def test_eight_threads_on_one_backend_get_their_own_logits(engine: str, reference) -> None:
    from trt_text_classifier.backends.tensorrt_backend import TensorRTBackend

    rng = np.random.default_rng(1)
    work = [
        [make_batch(rng, int(rng.integers(1, 33)), int(rng.integers(1, 65))) for _ in range(50)]
        for _ in range(THREADS)
    ]
    answers = [[reference.infer(arrays) for arrays in batches] for batches in work]
    backend = TensorRTBackend.from_path(engine)
    backend.infer(work[0][0])
    one_thread = [[arrays for batches in work for arrays in batches]]
    alone_wrong, _, alone = run_threads(backend, one_thread, [[a for b in answers for a in b]])
    wrong, errors, together = run_threads(backend, work, answers)
    unlocked = TensorRTBackend.from_path(engine)
    unlocked._runner._lock = contextlib.nullcontext()
    control_wrong, control_errors, _ = run_threads(unlocked, work, answers)
    unlocked.close()
    backend.close()
    batches = THREADS * 50
    print(
        f"\n1 thread x {batches} batches: {len(alone_wrong)} wrong {alone_wrong[:3]}; "
        f"{THREADS} threads x 50 batches on one locked backend: {len(wrong)} wrong {wrong[:3]}; "
        f"lock cost: 1 thread {batches / alone:.0f} batches/s, {THREADS} threads "
        f"{batches / together:.0f} batches/s; control without the lock: "
        f"{len(control_wrong)} of {batches} wrong ({len(control_errors)} raised)"
    )
    assert (alone_wrong, wrong, errors) == ([], [], [])


def test_the_stand_in_refuses_what_tensorrt_refuses(standin, engine: str) -> None:
    runtime = standin.Runtime(standin.Logger())
    with open(engine, "rb") as handle:
        stand_in_engine = runtime.deserialize_cuda_engine(handle.read())
    context = stand_in_engine.create_execution_context()
    assert not context.set_input_shape("input_ids", (1, 8))
    assert not context.set_input_shape("input_ids", (2, 65))
    assert context.set_input_shape("input_ids", (2, 8))
    assert context.get_tensor_shape("logits") == (-1, 2)
    assert context.set_input_shape("attention_mask", (2, 8))
    assert context.set_input_shape("token_type_ids", (2, 8))
    assert context.get_tensor_shape("logits") == (2, 2)
    assert not context.execute_async_v3(0)
    for index, name in enumerate(["input_ids", "attention_mask", "token_type_ids", "logits"]):
        assert context.set_tensor_address(name, 256 * (index + 1) + (name == "logits"))
    assert not context.execute_async_v3(0)
    assert runtime.deserialize_cuda_engine(b"not an engine") is None


def test_a_context_that_cannot_be_created_is_a_backend_error(standin, engine: str) -> None:
    from trt_text_classifier.backends.tensorrt_backend import TensorRTBackend

    standin.Engine.refuse_contexts = True
    try:
        with pytest.raises(BackendError) as error:
            TensorRTBackend.from_path(engine)
    finally:
        standin.Engine.refuse_contexts = False
    message = str(error.value)
    assert message.startswith(f"{engine}: TensorRT could not create an execution context: ")
    assert " MiB are free; " in message


def test_verify_engine_passes_the_stand_in(
    engine: str, model_onnx: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from trt_text_classifier.commands.verify_engine import run_verification

    status = run_verification(engine, model_onnx, str(EXAMPLES / "reviews-1.txt"))
    out = capsys.readouterr().out
    print(f"\n{out}")
    assert status == 0
    assert out.endswith("verify-engine: PASSED\n")


def test_a_changed_engine_file_is_refused_by_its_sha256(engine: str, tmp_path: Path) -> None:
    from trt_text_classifier.backends.tensorrt_backend import TensorRTBackend

    changed = tmp_path / "changed.plan"
    changed.write_bytes(Path(engine).read_bytes() + b" ")
    Path(f"{changed}.json").write_text(Path(f"{engine}.json").read_text())
    with pytest.raises(BackendError, match="its SHA-256 differs from engine_sha256"):
        TensorRTBackend.from_path(str(changed))
