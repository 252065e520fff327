"""Load a `TextClassifier` on a worker: fetch the model files, pick the backend.

The backend is the one the caller names ("onnxruntime" for --onnx_path,
"tensorrt" for --engine_path). Left unnamed (the handler used on its own), it
follows the file name: `*.onnx` (any case) is served by ONNX Runtime, anything
else (`*.plan`, `*.engine`) is a TensorRT engine with a sidecar.

Each loaded classifier knows which model it is (`model_identity`), computed
once here: the engine's SHA-256 comes from its sidecar (the backend has
already checked the file against it), the ONNX file's is hashed from the
local copy the backend loads (and checked against its bundle's onnx_sha256).
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING, Literal

from trt_text_classifier import model_files
from trt_text_classifier.bundle import BundleManifest, manifest_path_for, model_directory
from trt_text_classifier.serving.classifier import TextClassifier
from trt_text_classifier.serving.tokenization import BatchTokenizer

if TYPE_CHECKING:
    from trt_text_classifier.serving.engine_cache_entry import CachedEngine
    from trt_text_classifier.serving.engine_cache_key import EntryBuilder
    from trt_text_classifier.sidecar import BuildSettings, GpuTarget

Backend = Literal["onnxruntime", "tensorrt"]

IDENTITY_DIGITS = 12
"""Hex digits of the SHA-256 in a model identity: enough to tell builds apart."""


def model_identity(model_path: str, sha256: str) -> str:
    """`NAME@HEX`: the model file's name and the first 12 hex digits of its SHA-256.

    E.g. `model.onnx@3f2a9c1b7d0e` or `sst2-l4-fp16.plan@9c1b7d0e3f2a`: a
    prediction names the exact file that produced it, whatever its directory.
    """
    return f"{posixpath.basename(model_path)}@{sha256[:IDENTITY_DIGITS]}"


def backend_for(model_path: str, backend: Backend | None = None) -> Backend:
    """`backend` when given, else the one the file name suggests."""
    if backend is not None:
        return backend
    return "onnxruntime" if model_path.lower().endswith(".onnx") else "tensorrt"


def load_classifier(
    model_path: str, tokenizer: str | None, max_seq_length: int, backend: Backend | None = None
) -> TextClassifier:
    if backend_for(model_path, backend) == "onnxruntime":
        return load_onnx_classifier(model_path, tokenizer, max_seq_length)
    return load_engine_classifier(model_path, tokenizer, max_seq_length)


def load_tokenizer(
    model_path: str, tokenizer: str | None, max_seq_length: int, backend: Backend | None = None
) -> BatchTokenizer:
    """The tokenizer that `load_classifier` would pair with the model, loaded alone.

    For an engine the default location comes from its sidecar; nothing else of
    the engine is read.
    """
    if tokenizer is None and backend_for(model_path, backend) == "tensorrt":
        from trt_text_classifier.sidecar import read_sidecar

        tokenizer = read_sidecar(model_path).tokenizer_location(model_path)
    directory = model_files.cache_directory(tokenizer or model_directory(model_path))
    return BatchTokenizer.from_pretrained(directory, max_seq_length=max_seq_length)


def load_onnx_classifier(
    onnx_path: str, tokenizer: str | None, max_seq_length: int
) -> TextClassifier:
    from trt_text_classifier.backends.onnxruntime_backend import OnnxRuntimeBackend
    from trt_text_classifier.sidecar import model_sha256

    manifest_path = manifest_path_for(onnx_path)
    manifest = BundleManifest.model_validate_json(model_files.read_text(manifest_path))
    local = model_files.cache_file(onnx_path)
    digest = model_sha256(local)
    check_onnx_digest(onnx_path, digest, manifest, manifest_path)
    batch_tokenizer = load_tokenizer(onnx_path, tokenizer, max_seq_length, backend="onnxruntime")
    backend = OnnxRuntimeBackend(local)
    identity = model_identity(onnx_path, digest)
    return TextClassifier(
        batch_tokenizer, backend, manifest.labels, identity, problem_type=manifest.problem_type
    )


def check_onnx_digest(
    onnx_path: str, digest: str, manifest: BundleManifest, manifest_path: str
) -> None:
    """The ONNX file must be the one its bundle was written for (as an engine and its sidecar)."""
    from trt_text_classifier.backends.base import BackendError

    if manifest.onnx_sha256 is not None and digest != manifest.onnx_sha256:
        raise BackendError(
            f"{onnx_path}: its SHA-256 differs from onnx_sha256 in {manifest_path}; the model "
            "or the manifest was replaced after the export: copy the whole exported directory"
        )


def load_engine_classifier(
    engine_path: str, tokenizer: str | None, max_seq_length: int
) -> TextClassifier:
    """An engine with its sidecar: labels, limits and tokenizer location come from the sidecar.

    The backend is created first: on a machine that cannot run the engine the
    error says so before anything else is downloaded.
    """
    from trt_text_classifier.backends.base import BackendError
    from trt_text_classifier.backends.tensorrt_backend import TensorRTBackend

    backend = TensorRTBackend.from_path(engine_path)
    sidecar = backend.sidecar
    try:
        if max_seq_length > sidecar.sequence.max:
            raise BackendError(
                f"max_seq_length={max_seq_length} is above the engine's profile maximum of "
                f"{sidecar.sequence.max} tokens; lower it or rebuild with a larger --seq MAX"
            )
        batch_tokenizer = load_tokenizer(
            engine_path,
            tokenizer or sidecar.tokenizer_location(engine_path),
            max_seq_length,
            backend="tensorrt",
        )
    except BaseException:
        backend.close()
        raise
    identity = model_identity(engine_path, sidecar.engine_sha256)
    return TextClassifier(
        batch_tokenizer, backend, sidecar.labels, identity, problem_type=sidecar.problem_type
    )


def load_cached_engine_classifier(
    onnx_path: str,
    tokenizer: str | None,
    max_seq_length: int,
    *,
    engine_cache: str,
    settings: BuildSettings,
    builder: EntryBuilder,
    gpu: GpuTarget | None = None,
) -> TextClassifier:
    """A TensorRT classifier for `onnx_path` on this worker's GPU, through the engine cache.

    The engine for this GPU (`gpu`, default: the one CUDA reports) comes from the shared
    cache, built here first when nobody has built it (`builder`, injected: serving never
    imports the model tooling). An engine the runtime refuses to deserialize is moved aside
    and rebuilt once. The tokenizer is the bundle's (or `tokenizer`).
    """
    from trt_text_classifier.backends.base import BackendError
    from trt_text_classifier.serving.engine_cache import EngineCache, EngineRefused, local_gpu

    bundle_tokenizer = tokenizer or model_directory(onnx_path)

    def load(engine: CachedEngine) -> TextClassifier:
        try:
            return load_engine_classifier(engine.engine_path, bundle_tokenizer, max_seq_length)
        except BackendError as error:
            if "could not deserialize" in str(error):
                raise EngineRefused(str(error)) from None
            raise

    cache = EngineCache(engine_cache)
    _, classifier = cache.obtain(onnx_path, gpu or local_gpu(), settings, builder, load=load)
    return classifier
