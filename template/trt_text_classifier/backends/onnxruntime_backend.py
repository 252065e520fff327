"""ONNX Runtime backend: the local and CPU default, from the same ONNX file an engine is built from."""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np
import onnxruntime

from trt_text_classifier.backends.base import BackendError, BackendLimits

_ONNX_TO_NUMPY = {
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(float)": np.float32,
    "tensor(float16)": np.float16,
}


def choose_providers() -> list[str]:
    """CUDA when onnxruntime-gpu is installed and sees a GPU, else the CPU."""
    available = onnxruntime.get_available_providers()
    if "CUDAExecutionProvider" in available:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


def make_session_options(intra_op_threads: int | None = None) -> onnxruntime.SessionOptions:
    """Session options set deliberately rather than left to ONNX Runtime's guesses.

    - all graph optimizations (attention/LayerNorm fusions matter for BERT);
    - intra-op threads: one per core the process may use (a Beam worker runs
      one SDK process per core on Dataflow, so pass 1 there to avoid
      oversubscription); inter-op threads 1, the graph is sequential;
    - no thread spinning: idle workers between batches should not burn CPU.
    """
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = intra_op_threads or len(os.sched_getaffinity(0))
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


class OnnxRuntimeBackend:
    """Serves a local ONNX file with ONNX Runtime.

    Thread-safe without a lock: `InferenceSession.run` may be called from
    several threads at once (ONNX Runtime's documented guarantee; each call
    gets its own outputs), which is how Beam calls a shared model.
    """

    def __init__(self, onnx_path: str, *, intra_op_threads: int | None = None) -> None:
        try:
            self._session = onnxruntime.InferenceSession(
                onnx_path,
                sess_options=make_session_options(intra_op_threads),
                providers=choose_providers(),
            )
        except Exception as error:
            raise BackendError(f"ONNX Runtime cannot load {onnx_path}: {error}") from error
        self._input_dtypes = {
            item.name: _ONNX_TO_NUMPY[item.type] for item in self._session.get_inputs()
        }
        self._output_name = self._session.get_outputs()[0].name

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(self._input_dtypes)

    @property
    def limits(self) -> BackendLimits:
        return BackendLimits(max_batch_size=None, max_sequence_length=None)

    @property
    def providers(self) -> list[str]:
        return self._session.get_providers()

    def infer(self, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        feed = {
            name: np.ascontiguousarray(inputs[name], dtype=dtype)
            for name, dtype in self._input_dtypes.items()
        }
        (logits,) = self._session.run([self._output_name], feed)
        return np.asarray(logits, dtype=np.float32)

    def close(self) -> None:
        self._session = None
