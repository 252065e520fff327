"""The ONNX Runtime backend on the demo model, for real."""

from __future__ import annotations

import numpy as np
import pytest

from trt_text_classifier.backends.base import BackendError, BackendLimits
from trt_text_classifier.backends.onnxruntime_backend import OnnxRuntimeBackend


def inputs(batch: int, sequence: int, dtype: type = np.int64) -> dict[str, np.ndarray]:
    ids = np.full((batch, sequence), 7, dtype=dtype)
    ids[:, 0], ids[:, -1] = 2, 3
    return {
        "input_ids": ids,
        "token_type_ids": np.zeros((batch, sequence), dtype=dtype),
        "attention_mask": np.ones((batch, sequence), dtype=dtype),
    }


def test_runs_dynamic_batch_and_sequence_shapes(demo_onnx: str) -> None:
    backend = OnnxRuntimeBackend(demo_onnx, intra_op_threads=1)
    try:
        assert backend.input_names == ("input_ids", "token_type_ids", "attention_mask")
        assert backend.providers == ["CPUExecutionProvider"]
        assert backend.limits == BackendLimits(max_batch_size=None, max_sequence_length=None)
        for batch, sequence in ((1, 3), (5, 17), (33, 128)):
            logits = backend.infer(inputs(batch, sequence))
            assert logits.shape == (batch, 2)
            assert logits.dtype == np.float32
    finally:
        backend.close()


def test_casts_inputs_to_the_model_dtype(demo_onnx: str) -> None:
    backend = OnnxRuntimeBackend(demo_onnx, intra_op_threads=1)
    from_int32 = backend.infer(inputs(2, 9, np.int32))
    from_int64 = backend.infer(inputs(2, 9, np.int64))
    np.testing.assert_array_equal(from_int32, from_int64)


def test_identical_rows_give_identical_logits_whatever_the_batch(demo_onnx: str) -> None:
    backend = OnnxRuntimeBackend(demo_onnx, intra_op_threads=1)
    single = backend.infer(inputs(1, 12))
    many = backend.infer(inputs(8, 12))
    np.testing.assert_allclose(many, np.repeat(single, 8, axis=0), rtol=1e-5, atol=1e-6)


def test_unloadable_model_is_a_backend_error(tmp_path) -> None:
    broken = tmp_path / "model.onnx"
    broken.write_bytes(b"not an onnx file")
    with pytest.raises(BackendError, match=r"ONNX Runtime cannot load .*model\.onnx"):
        OnnxRuntimeBackend(str(broken))
