"""A worker's whole engine-cache path on a real GPU, with the strict TensorRT stand-in:

    empty cache -> this GPU (CUDA's name and compute capability) -> claim -> build
    (the stand-in's engine) -> entry -> verified local copy -> TensorRTBackend -> predictions

and a second worker that finds the entry. Predictions must equal ONNX Runtime's on the CPU.
Runs without Beam and TensorRT:

    PYTHONPATH=template python -m pytest -m gpu -s tests/gpu/test_gpu_engine_cache.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pytest

from trt_text_classifier.backends import cuda_memory
from trt_text_classifier.sidecar import BuildSettings, EngineSidecar, GpuTarget, ProfileRange

pytestmark = pytest.mark.gpu
torch = pytest.importorskip("torch")

SETTINGS = BuildSettings(
    "fp32", ProfileRange(min=1, opt=8, max=16), ProfileRange(min=1, opt=32, max=64), 512
)
SENTENCES = [
    "a wonderful, warm film",
    "dull and far too long",
    "the plot holds together until the last act, then it falls apart completely",
    "fine",
    "I would watch it again",
]
TOLERANCE = 2e-3
"""As in test_gpu_tensorrt_standin.py: the same fp32 model on other kernels."""


@pytest.fixture(scope="module")
def standin():
    try:
        if cuda_memory.device_count() < 1 or not torch.cuda.is_available():
            pytest.skip("no NVIDIA GPU")
    except cuda_memory.CudaError as error:
        pytest.skip(f"no usable NVIDIA GPU: {error}")
    from support import tensorrt_standin

    module = tensorrt_standin.install()
    yield tensorrt_standin
    if sys.modules.get("tensorrt") is module:
        del sys.modules["tensorrt"]


class StandinBuilder:
    """Builds the stand-in's engine for the declared GPU, as the image's TensorRT would."""

    library = "tensorrt"
    has_timing_cache = False

    def __init__(self, standin) -> None:
        self.standin = standin
        self.version = standin.VERSION
        self.builds = 0

    def build(
        self,
        onnx_path: str,
        engine_path: str,
        gpu: GpuTarget,
        settings: BuildSettings,
        timing_cache: str | None,
    ) -> EngineSidecar:
        self.builds += 1
        return self.standin.write_engine(
            onnx_path,
            engine_path,
            batch=settings.batch,
            sequence=settings.sequence,
            compute_capability=gpu.compute_capability,
        )


def test_a_worker_builds_into_an_empty_cache_and_serves_like_onnxruntime(
    standin, demo_onnx: str, tmp_path: Path
) -> None:
    from trt_text_classifier.serving.engine_cache import local_gpu
    from trt_text_classifier.serving.loading import (
        load_cached_engine_classifier,
        load_onnx_classifier,
    )

    gpu = local_gpu()
    print(f"GPU: {gpu.device_name}, compute capability {gpu.compute_capability}")
    builder = StandinBuilder(standin)
    timings = {}
    classifiers = {}
    for outcome in ("miss", "hit"):
        started = time.monotonic()
        classifier = load_cached_engine_classifier(
            demo_onnx, None, 64, engine_cache=str(tmp_path), settings=SETTINGS, builder=builder
        )
        first = classifier.classify(SENTENCES[:1])
        timings[outcome] = time.monotonic() - started
        assert first.classifications
        classifiers[outcome] = classifier
    print(f"worker start to first prediction: {timings}")
    assert builder.builds == 1

    reference = load_onnx_classifier(demo_onnx, None, 64).classify(SENTENCES)
    for classifier in classifiers.values():
        served = classifier.classify(SENTENCES)
        for got, want in zip(served.classifications, reference.classifications, strict=True):
            assert got.label == want.label
            np.testing.assert_allclose(
                list(got.probabilities.values()),
                list(want.probabilities.values()),
                atol=TOLERANCE,
            )
        assert classifier.identity.startswith("engine.plan@")
        classifier.close()
