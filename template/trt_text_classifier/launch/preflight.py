"""Checks that need I/O, run before the pipeline is built (on the launcher VM on Dataflow).

They read the input match, the bundle manifest or engine sidecar, the tokenizer
(loaded as the workers will load it), the ONNX model (its SHA-256, or ONNX's checker; a gs://
model is copied into this process's cache) and the output prefixes
(`output_locations`). Each failure is a `ParameterError` naming the parameter;
each check that may reach Google Cloud runs within `remote_checks.with_time_limit`.
`trt-text-classifier validate` and `launch` run the same checks.
"""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING

from trt_text_classifier import model_files
from trt_text_classifier.backends.base import BackendError
from trt_text_classifier.bundle import BundleManifest, manifest_path_for
from trt_text_classifier.dataflow.accelerator import WorkerGpu, resolve_worker
from trt_text_classifier.dataflow.accelerator_syntax import parse_accelerator
from trt_text_classifier.dataflow.engine_check import (
    check_engine_runs_on,
    check_one_gpu_per_worker,
)
from trt_text_classifier.dataflow.gpu_memory import check_engines_fit, engine_size
from trt_text_classifier.errors import ParameterError, one_line
from trt_text_classifier.launch.model_checks import (
    MODEL_CHECK_TIMEOUT_SECS,
    OnnxGraph,
    check_engine_fits,
    check_model_fits,
    check_onnx_model,
    model_parameter,
)
from trt_text_classifier.launch.options import is_dataflow_runner, is_local_runner
from trt_text_classifier.launch.output_locations import (
    check_output_location,
    check_writable,
    output_prefixes,
    streaming_output_prefixes,
)
from trt_text_classifier.launch.parameters import PipelineParameters
from trt_text_classifier.launch.remote_checks import with_time_limit
from trt_text_classifier.sidecar import EngineSidecar, sidecar_path_for

if TYPE_CHECKING:
    from trt_text_classifier.serving.tokenization import BatchTokenizer


def check_parameters(
    params: PipelineParameters, runner: str | None = None, *, io: bool = True
) -> WorkerGpu | None:
    """`runner` is Beam's --runner (None: the default DirectRunner).

    `io=False` skips the checks that read files (input pattern, manifest,
    engine sidecar, model, tokenizer, outputs). Returns the workers' GPU when
    an accelerator is given.
    """
    worker = check_workers(params, on_dataflow=is_dataflow_runner(runner))
    if not io:
        return worker
    pattern, onnx_path, engine_path = params.input, params.onnx_path, params.engine_path
    if pattern:
        with_time_limit("input", pattern, lambda: check_input_matches(pattern))
    check_pubsub_resources(params)
    graph: OnnxGraph | None = None
    if onnx_path:
        manifest = with_time_limit("onnx_path", onnx_path, lambda: read_bundle_manifest(onnx_path))
        check_sequence_length(params.max_seq_length, manifest.max_sequence_length, "the model")
        graph = with_time_limit(
            "onnx_path",
            onnx_path,
            lambda: check_onnx_model(onnx_path, manifest),
            timeout=MODEL_CHECK_TIMEOUT_SECS,
        )
    sidecar = _check_engine(params, engine_path, runner, worker) if engine_path else None
    if params.engine_cache:
        from trt_text_classifier.launch.engine_cache_check import check_engine_cache_writable

        check_engine_cache_writable(params)
    name, value = ("tokenizer", params.tokenizer) if params.tokenizer else model_parameter(params)
    tokenizer = with_time_limit(name, value, lambda: check_tokenizer(params))
    if onnx_path and graph is not None:
        check_model_fits(params, graph, tokenizer)
    if sidecar is not None:
        check_engine_fits(params, sidecar, tokenizer)
    for name, prefix in output_prefixes(params).items():
        with_time_limit(name, prefix, functools.partial(check_output_location, name, prefix))
    for name, prefix in streaming_output_prefixes(params).items():
        with_time_limit(name, prefix, functools.partial(check_writable, name, prefix))
    return worker


def _check_engine(
    params: PipelineParameters, engine_path: str, runner: str | None, worker: WorkerGpu | None
) -> EngineSidecar:
    sidecar = with_time_limit("engine_path", engine_path, lambda: read_engine_sidecar(engine_path))
    check_engine_limits(params, sidecar)
    if is_local_runner(runner):
        check_local_engine_runtime(engine_path, sidecar)
    elif worker is not None:
        check_engine_runs_on(engine_path, sidecar, worker.gpu)
        check_one_gpu_per_worker(engine_path, worker.accelerator.count)
        size = with_time_limit("engine_path", engine_path, lambda: engine_size(engine_path))
        check_engines_fit(worker, size, sidecar.workspace_mib)
    return sidecar


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


PUBSUB_CHECK_TIMEOUT_SECS = 30.0


def check_pubsub_resources(params: PipelineParameters) -> None:
    """The subscription and topics must exist: a streaming job would otherwise fail on workers.

    Only "not found" is an error: a launcher allowed to subscribe or publish may
    still lack the permission to describe the resource.
    """
    subscription = params.input_subscription
    if subscription:
        with_time_limit(
            "input_subscription", subscription, lambda: check_subscription_exists(subscription)
        )
    for name in ("output_topic", "dead_letter_topic"):
        topic = getattr(params, name)
        if topic:
            with_time_limit(name, topic, functools.partial(check_topic_exists, name, topic))


def check_subscription_exists(subscription: str) -> None:
    from google.api_core.exceptions import NotFound
    from google.cloud import pubsub_v1

    with pubsub_v1.SubscriberClient() as subscriber:
        try:
            subscriber.get_subscription(
                subscription=subscription, timeout=PUBSUB_CHECK_TIMEOUT_SECS
            )
        except NotFound:
            raise ParameterError(
                f"--input_subscription={subscription!r}: no such subscription; create it with "
                "`gcloud pubsub subscriptions create NAME --topic TOPIC`"
            ) from None


def check_topic_exists(name: str, topic: str) -> None:
    from google.api_core.exceptions import NotFound
    from google.cloud import pubsub_v1

    try:
        pubsub_v1.PublisherClient().get_topic(topic=topic, timeout=PUBSUB_CHECK_TIMEOUT_SECS)
    except NotFound:
        raise ParameterError(
            f"--{name}={topic!r}: no such topic; create it with `gcloud pubsub topics create NAME`"
        ) from None


def read_engine_sidecar(engine_path: str, name: str = "engine_path") -> EngineSidecar:
    """The sidecar beside an engine; `name` is the flag that gave the engine."""
    try:
        return model_files.read_description(
            engine_path,
            sidecar_path_for(engine_path),
            EngineSidecar,
            missing_model="no such file; build one with `trt-text-classifier build-engine`",
            missing_description="its sidecar {path} is missing; copy the .plan.json that "
            "build-engine wrote beside the engine",
        )
    except model_files.ToolFileError as error:
        raise ParameterError(f"--{name}={engine_path!r}: {error}") from None


def check_engine_limits(params: PipelineParameters, sidecar: EngineSidecar) -> None:
    """The requested batch and sequence limits must fit the engine's optimization profile."""
    check_sequence_length(params.max_seq_length, sidecar.sequence.max, "the engine profile")
    if params.max_batch_size is not None and params.max_batch_size > sidecar.batch.max:
        raise ParameterError(
            f"--max_batch_size={params.max_batch_size}: above the engine profile's maximum "
            f"batch of {sidecar.batch.max}; use at most {sidecar.batch.max} or rebuild the "
            "engine with a larger --batch MAX"
        )


def check_local_engine_runtime(engine_path: str, sidecar: EngineSidecar) -> None:
    """A local run serves the engine here: refuse at once where it cannot run."""
    from trt_text_classifier.backends.tensorrt_backend import check_runtime

    try:
        check_runtime(sidecar, engine_path)
    except BackendError as error:
        raise ParameterError(f"--engine_path={engine_path!r}: {error}") from None


def check_input_matches(pattern: str | None) -> None:
    from apache_beam.io.filesystems import FileSystems

    from trt_text_classifier.io.compressed_files import not_regular_file
    from trt_text_classifier.io.text_files import matchable_pattern

    if pattern is None:
        return
    try:
        matched = FileSystems.match([matchable_pattern(pattern)])[0].metadata_list
    except Exception as error:
        raise ParameterError(f"--input={pattern!r}: cannot list files: {error}") from None
    directories = [match.path for match in matched if model_files.is_directory(match.path)]
    if directories or (not matched and list_directory(pattern)):
        directory = (directories or [pattern])[0].rstrip("/")
        raise ParameterError(
            f"--input={pattern!r}: {directory} is a directory; give a file pattern such as "
            f"{directory}/*.txt"
        )
    if not matched:
        raise ParameterError(
            f"--input={pattern!r}: matches no file; check the path and the wildcard "
            "(e.g. gs://bucket/dir/*.txt)"
        )
    special = next(filter(None, (not_regular_file(match.path) for match in matched)), None)
    if special is not None:
        raise ParameterError(
            f"--input={pattern!r}: {special}, not a regular file (only regular files are "
            "read: a FIFO never ends, nor does a device); leave it out of the pattern"
        )
    unreadable = [
        match.path
        for match in matched
        if model_files.is_local(match.path) and not os.access(match.path, os.R_OK)
    ]
    if unreadable:
        raise ParameterError(
            f"--input={pattern!r}: {unreadable[0]} cannot be read by this user; fix its "
            "permissions or leave it out of the pattern"
        )


def list_directory(path: str) -> list[str]:
    """What lies under `path` as a directory (gs:// has no directories, only prefixes)."""
    from apache_beam.io.filesystems import FileSystems

    try:
        return [m.path for m in FileSystems.match([path.rstrip("/") + "/*"])[0].metadata_list]
    except Exception:
        return []


def check_tokenizer(params: PipelineParameters) -> BatchTokenizer:
    """Load the tokenizer the workers will load; it must leave room for one word."""
    from trt_text_classifier.serving.loading import Backend, load_tokenizer

    name, value = ("tokenizer", params.tokenizer) if params.tokenizer else model_parameter(params)
    tokenizer_path = params.tokenizer or ""
    if (
        model_files.is_local(tokenizer_path)
        and tokenizer_path
        and not os.path.isdir(tokenizer_path)
    ):
        raise ParameterError(
            f"--tokenizer={params.tokenizer!r}: no such directory; give the directory the "
            "tokenizer was saved to (save_pretrained)"
        )
    backend: Backend = "onnxruntime" if params.onnx_path else "tensorrt"
    try:
        tokenizer = load_tokenizer(
            params.model_path, params.tokenizer, params.max_seq_length, backend
        )
    except Exception as error:
        raise ParameterError(f"--{name}={value!r}: {one_line(error, limit=400)}") from None
    smallest = tokenizer.special_tokens + 1
    if params.max_seq_length < smallest:
        raise ParameterError(
            f"--max_seq_length={params.max_seq_length}: the tokenizer adds "
            f"{tokenizer.special_tokens} special tokens, so at least {smallest} leave room for "
            "one word"
        )
    return tokenizer


def read_bundle_manifest(onnx_path: str) -> BundleManifest:
    """The bundle manifest beside an ONNX model."""
    try:
        return model_files.read_description(
            onnx_path,
            manifest_path_for(onnx_path),
            BundleManifest,
            missing_model="no such file; give a model.onnx written by `trt-text-classifier "
            "export` or `demo-model`",
            missing_description="{path} is missing; serve a directory written by "
            "`trt-text-classifier export`, which writes the manifest beside model.onnx",
        )
    except model_files.ToolFileError as error:
        raise ParameterError(f"--onnx_path={onnx_path!r}: {error}") from None


def check_sequence_length(requested: int, limit: int, what: str) -> None:
    if requested > limit:
        raise ParameterError(
            f"--max_seq_length={requested}: above {what}'s limit of {limit} tokens; "
            f"use at most {limit}"
        )
