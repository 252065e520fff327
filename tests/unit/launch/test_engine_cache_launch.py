"""--engine_cache at launch: which parameters go with it, the refusal of a cache that is missing
or unwritable (one line), and the handler it makes (TensorRT through the cache)."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from trt_text_classifier.errors import ParameterError
from trt_text_classifier.launch.batch_size import effective_max_batch_size
from trt_text_classifier.launch.parameters import PipelineParameters
from trt_text_classifier.launch.preflight import check_parameters
from trt_text_classifier.model_tooling.engine_build import CacheBuilder
from trt_text_classifier.pipeline import make_handler
from trt_text_classifier.serving.engine_cache_key import worker_build_settings
from trt_text_classifier.serving.loading import load_cached_engine_classifier

L4 = "type:nvidia-l4;count:1;install-nvidia-driver"


def parameters(**values: str) -> PipelineParameters:
    return PipelineParameters.model_validate(
        {"input": "in/*.txt", "output": "out/p", "accelerator": L4, **values}
    )


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"engine_path": "e.plan", "engine_cache": "cache"},
            "--engine_cache: needs --onnx_path",
        ),
        (
            {"onnx_path": "m.onnx", "engine_cache": "cache", "accelerator": None},
            "--engine_cache: needs --accelerator",
        ),
    ],
)
def test_engine_cache_goes_with_onnx_path_and_an_accelerator(
    values: dict[str, str], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        parameters(**values)


def test_a_gpu_job_with_onnx_path_and_engine_cache_serves_tensorrt_through_the_cache() -> None:
    params = parameters(onnx_path="gs://b/m/model.onnx", engine_cache="gs://b/cache/")
    handler = make_handler(params)
    loader = handler._loader
    assert isinstance(loader, functools.partial)
    assert loader.func is load_cached_engine_classifier
    assert loader.keywords["engine_cache"] == "gs://b/cache/"
    assert loader.keywords["builder"] == CacheBuilder()
    # A GPU batch job without --max_batch_size builds (and serves) batches of up to 256.
    assert effective_max_batch_size(params) == 256
    assert loader.keywords["settings"] == worker_build_settings(256, params.max_seq_length)
    assert handler.shares_backend_across_processes
    # Without the cache the same ONNX job keeps serving with ONNX Runtime, per process.
    plain = make_handler(parameters(onnx_path="gs://b/m/model.onnx"))
    assert plain._loader is None and not plain.shares_backend_across_processes


def local_job(tmp_path: Path, demo_onnx: str, cache: str) -> PipelineParameters:
    (tmp_path / "in.txt").write_text("fine\n")
    return parameters(
        input=str(tmp_path / "in.txt"),
        output=str(tmp_path / "out" / "p"),
        onnx_path=demo_onnx,
        engine_cache=cache,
    )


def test_a_missing_cache_folder_is_refused_at_launch_in_one_line(
    tmp_path: Path, demo_onnx: str
) -> None:
    missing = str(tmp_path / "no-cache")
    with pytest.raises(ParameterError) as error:
        check_parameters(local_job(tmp_path, demo_onnx, missing))
    assert str(error.value) == (
        f"--engine_cache={missing!r}: {missing}: no such folder; create it first"
    )


def test_an_unwritable_cache_folder_is_refused_at_launch_in_one_line(
    tmp_path: Path, demo_onnx: str
) -> None:
    if os.geteuid() == 0:
        locked = "/proc/self"  # a folder even root cannot create files in
    else:
        (tmp_path / "locked").mkdir(mode=0o500)
        locked = str(tmp_path / "locked")
    with pytest.raises(ParameterError) as error:
        check_parameters(local_job(tmp_path, demo_onnx, locked))
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"--engine_cache={locked!r}: {locked}: not writable (")
