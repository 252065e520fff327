"""Checks that need I/O, run before the pipeline is built (on the launcher VM on Dataflow).

They read only small files (the bundle manifest), never the model or the
tokenizer, and each failure is a `ParameterError` naming the parameter.
"""

from __future__ import annotations

from pydantic import ValidationError

from trt_text_classifier import model_files
from trt_text_classifier.bundle import BundleManifest, manifest_path_for
from trt_text_classifier.dataflow.accelerator import WorkerGpu, parse_accelerator, resolve_worker
from trt_text_classifier.dataflow.engine_check import (
    check_engine_fits,
    container_tensorrt_major,
    read_engine_limits,
)
from trt_text_classifier.params import ParameterError, PipelineParameters


def check_parameters(
    params: PipelineParameters, *, on_dataflow: bool, io: bool = True
) -> WorkerGpu | None:
    """Every check before the graph is built; `trt-text-classifier validate` runs the same.

    `io=False` skips the checks that read files (input pattern, manifest,
    engine sidecar). Returns the workers' GPU when an accelerator is given.
    """
    worker = check_workers(params, on_dataflow=on_dataflow)
    if not io:
        return worker
    check_input_matches(params.input)
    if params.onnx_path:
        manifest = read_bundle_manifest(params.onnx_path)
        check_sequence_length(params.max_seq_length, manifest.max_sequence_length, "the model")
    if params.engine_path and worker is not None:
        limits = read_engine_limits(params.engine_path)
        check_engine_fits(params, limits, worker.gpu, container_tensorrt_major())
    return worker


def check_workers(params: PipelineParameters, *, on_dataflow: bool) -> WorkerGpu | None:
    """Accelerator and machine type against the GPU catalog (no I/O)."""
    if params.accelerator is None:
        if on_dataflow and params.engine_path:
            raise ParameterError(
                "--accelerator: required with --engine_path on Dataflow (TensorRT needs GPU "
                "workers); e.g. type:nvidia-l4;count:1;install-nvidia-driver"
            )
        return None
    return resolve_worker(parse_accelerator(params.accelerator), params.machine_type)


def check_input_matches(pattern: str | None) -> None:
    from apache_beam.io.filesystems import FileSystems

    if pattern is None:
        return
    try:
        matched = FileSystems.match([pattern])[0].metadata_list
    except Exception as error:
        raise ParameterError(f"--input={pattern!r}: cannot list files: {error}") from None
    if not matched:
        raise ParameterError(
            f"--input={pattern!r}: matches no file; check the path and the wildcard "
            "(e.g. gs://bucket/dir/*.txt)"
        )


def read_bundle_manifest(onnx_path: str) -> BundleManifest:
    if not model_files.exists(onnx_path):
        raise ParameterError(
            f"--onnx_path={onnx_path!r}: no such file; give a model.onnx written by "
            "`trt-text-classifier export` or `demo-model`"
        )
    manifest_path = manifest_path_for(onnx_path)
    if not model_files.exists(manifest_path):
        raise ParameterError(
            f"--onnx_path={onnx_path!r}: {manifest_path} is missing; serve a directory written "
            "by `trt-text-classifier export`, which writes the manifest beside model.onnx"
        )
    try:
        return BundleManifest.model_validate_json(model_files.read_text(manifest_path))
    except ValidationError as error:
        raise ParameterError(
            f"--onnx_path={onnx_path!r}: {manifest_path} is invalid: {error}"
        ) from None


def check_sequence_length(requested: int, limit: int, what: str) -> None:
    if requested > limit:
        raise ParameterError(
            f"--max_seq_length={requested}: above {what}'s limit of {limit} tokens; "
            f"use at most {limit}"
        )
