"""Checks that need I/O, run before the pipeline is built (on the launcher VM on Dataflow).

They read only small files (the bundle manifest, the engine sidecar), never the
model or the tokenizer, and each failure is a `ParameterError` naming the
parameter. `trt-text-classifier validate` and `launch` run the same checks.
"""

from __future__ import annotations

from pydantic import ValidationError

from trt_text_classifier import model_files
from trt_text_classifier.accelerator_syntax import parse_accelerator
from trt_text_classifier.backends.base import BackendError
from trt_text_classifier.bundle import BundleManifest, manifest_path_for
from trt_text_classifier.dataflow.accelerator import WorkerGpu, resolve_worker
from trt_text_classifier.dataflow.engine_check import check_engine_runs_on
from trt_text_classifier.dataflow.gpu_memory import check_engines_fit, engine_size
from trt_text_classifier.options import is_dataflow_runner, is_local_runner
from trt_text_classifier.params import ParameterError, PipelineParameters
from trt_text_classifier.sidecar import EngineSidecar, read_sidecar, sidecar_path_for


def check_parameters(
    params: PipelineParameters, runner: str | None = None, *, io: bool = True
) -> WorkerGpu | None:
    """`runner` is Beam's --runner (None: the default DirectRunner).

    `io=False` skips the checks that read files (input pattern, manifest,
    engine sidecar). Returns the workers' GPU when an accelerator is given.
    """
    worker = check_workers(params, on_dataflow=is_dataflow_runner(runner))
    if not io:
        return worker
    check_input_matches(params.input)
    check_pubsub_resources(params)
    if params.onnx_path:
        manifest = read_bundle_manifest(params.onnx_path)
        check_sequence_length(params.max_seq_length, manifest.max_sequence_length, "the model")
    if params.engine_path:
        sidecar = read_engine_sidecar(params.engine_path)
        check_engine_limits(params, sidecar)
        if is_local_runner(runner):
            check_local_engine_runtime(params.engine_path, sidecar)
        elif worker is not None:
            check_engine_runs_on(params.engine_path, sidecar, worker.gpu)
            check_engines_fit(worker, engine_size(params.engine_path), sidecar.workspace_mib)
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


PUBSUB_CHECK_TIMEOUT_SECS = 30.0


def check_pubsub_resources(params: PipelineParameters) -> None:
    """The subscription and topics must exist: a streaming job would otherwise fail on workers.

    Only "not found" is an error: a launcher allowed to subscribe or publish may
    still lack the permission to describe the resource.
    """
    if params.input_subscription:
        check_subscription_exists(params.input_subscription)
    for name in ("output_topic", "dead_letter_topic"):
        topic = getattr(params, name)
        if topic:
            check_topic_exists(name, topic)


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


def read_engine_sidecar(engine_path: str) -> EngineSidecar:
    if not model_files.exists(engine_path):
        raise ParameterError(
            f"--engine_path={engine_path!r}: no such file; build one with "
            "`trt-text-classifier build-engine`"
        )
    path = sidecar_path_for(engine_path)
    if not model_files.exists(path):
        raise ParameterError(
            f"--engine_path={engine_path!r}: its sidecar {path} is missing; copy the .plan.json "
            "that build-engine wrote beside the engine"
        )
    try:
        return read_sidecar(engine_path)
    except ValidationError as error:
        raise ParameterError(f"--engine_path={engine_path!r}: {path} is invalid: {error}") from None


def check_engine_limits(params: PipelineParameters, sidecar: EngineSidecar) -> None:
    """The requested batch and sequence limits must fit the engine's optimization profile."""
    check_sequence_length(params.max_seq_length, sidecar.sequence.max, "the engine profile")
    if params.max_batch_size > sidecar.batch.max:
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
