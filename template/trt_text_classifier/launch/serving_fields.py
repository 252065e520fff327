"""The launch parameters that say what serves the records and on which workers.

The Model, Batching and Workers groups of the Console form, annotated like the fields in
`record_fields.py`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from trt_text_classifier.dataflow.accelerator_syntax import ACCELERATOR_REGEX
from trt_text_classifier.launch.console_form import (
    BATCHING_GROUP,
    CONTAINER_IMAGE_REGEX,
    GCS_PATH,
    MACHINE_TYPE_REGEX,
    MODEL_GROUP,
    STREAMING_ONLY,
    WORKERS_GROUP,
    ConsoleForm,
)

MAX_SUPPORTED_SEQUENCE_LENGTH = 512
"""BERT's position embeddings end at 512 tokens; a bundle may declare less."""
MIN_SEQUENCE_LENGTH = 3
"""Room for BERT's two special tokens ([CLS], [SEP]) and one word; less would truncate every
record to nothing (the launch check also asks the model's tokenizer how many it adds)."""


DEFAULT_STREAMING_BATCH_DURATION_SECS = 1.0
"""Longest a partial batch waits in a streaming job when max_batch_duration_secs is not given."""
DEFAULT_THRESHOLD = 0.5
DEFAULT_MODEL_WATCH_INTERVAL_SECS = 60.0


class ModelFields(BaseModel):
    """The model to serve, its tokenizer, and model swaps in streaming jobs."""

    onnx_path: Annotated[
        str | None,
        Field(
            title="ONNX model",
            description=(
                "ONNX model served with ONNX Runtime (a model.onnx written by the export or "
                "demo-model command). Give this or engine_path, not both."
            ),
            examples=["gs://my-bucket/models/sst2/model.onnx"],
        ),
        ConsoleForm(group=MODEL_GROUP, param_type="GCS_READ_FILE", regexes=(GCS_PATH,)),
    ] = None

    engine_path: Annotated[
        str | None,
        Field(
            title="TensorRT engine",
            description=(
                "TensorRT engine (.plan) written by build-engine, with its .plan.json sidecar "
                "beside it. Give this or onnx_path, not both."
            ),
            examples=["gs://my-bucket/engines/sst2-l4-fp16.plan"],
        ),
        ConsoleForm(group=MODEL_GROUP, param_type="GCS_READ_FILE", regexes=(GCS_PATH,)),
    ] = None

    engine_cache: Annotated[
        str | None,
        Field(
            title="Engine cache",
            description=(
                "With onnx_path and an accelerator: serve with TensorRT. Each GPU type's "
                "engine is built once, by the first worker that needs it, and shared with every "
                "other worker and job through this folder (gs:// or, for local runs, a local "
                "folder). The launch says whether the cache already holds a usable engine."
            ),
            examples=["gs://my-bucket/engine-cache/"],
        ),
        ConsoleForm(group=MODEL_GROUP, param_type="GCS_WRITE_FOLDER", regexes=(GCS_PATH,)),
    ] = None

    tokenizer: Annotated[
        str | None,
        Field(
            title="Tokenizer directory",
            description=(
                "Directory of a Hugging Face tokenizer (tokenizer.json, tokenizer_config.json). "
                "Default: the tokenizer saved with the model."
            ),
            examples=["gs://my-bucket/models/sst2/"],
        ),
        ConsoleForm(group=MODEL_GROUP, param_type="GCS_READ_FOLDER", regexes=(GCS_PATH,)),
    ] = None

    threshold: Annotated[
        float,
        Field(
            ge=0,
            le=1,
            title="Multi-label threshold",
            description=(
                "Multi-label models (problem_type multi_label_classification) answer every "
                "label whose sigmoid probability is at or above this value, in the prediction's "
                "labels list. Single-label models ignore it."
            ),
            examples=[0.5],
        ),
        ConsoleForm(
            group=MODEL_GROUP, param_type="NUMBER", regexes=(r"^(0([.][0-9]*)?|1([.]0*)?)$",)
        ),
    ] = DEFAULT_THRESHOLD

    model_watch_pattern: Annotated[
        str | None,
        Field(
            title="Model watch pattern",
            description=(
                "Streaming jobs: a file pattern watched for new models of the kind being served "
                "(*.onnx with onnx_path, *.plan with engine_path). The newest matching file is "
                "checked as at launch, loaded, and only then takes over; a file that fails is "
                "refused with a logged reason and the current model keeps serving. Upload a "
                "model's bundle files or sidecar and tokenizer first, the model file last, "
                "under a new name each time."
            ),
            examples=["gs://my-bucket/engines/*.plan"],
        ),
        ConsoleForm(group=MODEL_GROUP, regexes=(GCS_PATH,), modes=STREAMING_ONLY),
    ] = None

    model_watch_interval_secs: Annotated[
        float | None,
        Field(
            gt=0,
            le=86400,
            title="Model watch interval (seconds)",
            description=(
                "How often model_watch_pattern is matched for a new model. Default: 60 seconds."
            ),
            examples=[60],
        ),
        ConsoleForm(
            group=MODEL_GROUP,
            param_type="NUMBER",
            regexes=(r"^([0-9]+([.][0-9]*)?|[.][0-9]+)$",),
            modes=STREAMING_ONLY,
        ),
    ] = None


class BatchingFields(BaseModel):
    """Tokens per record and the batches sent to the model."""

    max_seq_length: Annotated[
        int,
        Field(
            ge=MIN_SEQUENCE_LENGTH,
            le=MAX_SUPPORTED_SEQUENCE_LENGTH,
            title="Maximum sequence length",
            description=(
                "Tokens per record, special tokens included; longer records are truncated "
                "and counted. At least 3 (BERT's two special tokens and one word), at most "
                "the model's limit."
            ),
            examples=[128],
        ),
        ConsoleForm(
            group=BATCHING_GROUP,
            param_type="NUMBER",
            regexes=(r"^([3-9]|[1-9][0-9]{1,2})$",),
        ),
    ] = 128

    min_batch_size: Annotated[
        int,
        Field(
            ge=1,
            title="Minimum batch size",
            description="Smallest batch RunInference forms before it waits for more records.",
            examples=[1],
        ),
        ConsoleForm(group=BATCHING_GROUP, param_type="NUMBER", regexes=(r"^[1-9][0-9]{0,4}$",)),
    ] = 1

    max_batch_size: Annotated[
        int | None,
        Field(
            ge=1,
            le=4096,
            title="Maximum batch size",
            description=(
                "Largest batch sent to the model in one call. Default: 64 on a CPU and in "
                "streaming jobs; 256 in batch jobs on a GPU (a TensorRT engine, or ONNX Runtime "
                "with its CUDA provider), at most the engine profile's maximum batch."
            ),
            examples=[64],
        ),
        ConsoleForm(group=BATCHING_GROUP, param_type="NUMBER", regexes=(r"^[1-9][0-9]{0,3}$",)),
    ] = None

    max_batch_duration_secs: Annotated[
        float | None,
        Field(
            gt=0,
            le=3600,
            title="Maximum batch wait (seconds)",
            description=(
                "Longest a partial batch waits for more records before it is sent (bounds "
                "latency in streaming jobs when traffic is thin). Default: 1 second in "
                "streaming jobs, unset (bundle-based batching) in batch jobs."
            ),
            examples=[1.0],
        ),
        ConsoleForm(
            group=BATCHING_GROUP,
            param_type="NUMBER",
            regexes=(r"^([0-9]+([.][0-9]*)?|[.][0-9]+)$",),
        ),
    ] = None


class WorkerFields(BaseModel):
    """The workers' GPUs, machine type and container image."""

    accelerator: Annotated[
        str | None,
        Field(
            title="GPU accelerator",
            description=(
                "GPUs of each worker, in Dataflow's worker_accelerator syntax: "
                "type:GPU_TYPE;count:N;install-nvidia-driver. Needed with engine_path. "
                "GPU types: nvidia-tesla-t4, nvidia-l4, nvidia-tesla-a100, nvidia-a100-80gb, "
                "nvidia-h100-80gb, nvidia-h100-mega-80gb, nvidia-rtx-pro-6000. The image is "
                "CUDA 12 (driver 525.60.13 or newer); RTX PRO 6000 needs "
                "install-nvidia-driver:latest."
            ),
            examples=["type:nvidia-l4;count:1;install-nvidia-driver"],
        ),
        ConsoleForm(group=WORKERS_GROUP, regexes=(ACCELERATOR_REGEX,)),
    ] = None

    machine_type: Annotated[
        str | None,
        Field(
            title="Worker machine type",
            description=(
                "Compute Engine machine type of the workers. Default with an accelerator: "
                "one that fits the GPU (g2-standard-8 for one L4, n1-standard-8 for one T4, "
                "a2-highgpu-1g for one A100, ...)."
            ),
            examples=["g2-standard-8"],
        ),
        ConsoleForm(group=WORKERS_GROUP, param_type="MACHINE_TYPE", regexes=(MACHINE_TYPE_REGEX,)),
    ] = None

    sdk_container_image: Annotated[
        str | None,
        Field(
            title="Worker container image",
            description=(
                "Container image of the workers. Default: the image this template was "
                "built with (the launcher image), so launcher and workers run the same code."
            ),
            examples=["us-central1-docker.pkg.dev/my-project/dataflow/trt-text-classifier:v1"],
        ),
        ConsoleForm(group=WORKERS_GROUP, regexes=(CONTAINER_IMAGE_REGEX,)),
    ] = None
