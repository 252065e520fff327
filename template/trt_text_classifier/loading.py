"""Load a `TextClassifier` on a worker: fetch the model files, pick the backend.

The backend follows the model file: `*.onnx` is served by ONNX Runtime,
anything else (`*.plan`, `*.engine`) is a TensorRT engine with a sidecar.
"""

from __future__ import annotations

from trt_text_classifier import model_files
from trt_text_classifier.bundle import BundleManifest, manifest_path_for, model_directory
from trt_text_classifier.classifier import TextClassifier
from trt_text_classifier.tokenization import BatchTokenizer


def is_onnx_model(model_path: str) -> bool:
    return model_path.endswith(".onnx")


def load_classifier(model_path: str, tokenizer: str | None, max_seq_length: int) -> TextClassifier:
    if is_onnx_model(model_path):
        return load_onnx_classifier(model_path, tokenizer, max_seq_length)
    return load_engine_classifier(model_path, tokenizer, max_seq_length)


def load_tokenizer(model_path: str, tokenizer: str | None, max_seq_length: int) -> BatchTokenizer:
    """The tokenizer that `load_classifier` would pair with the model, loaded alone.

    For an engine the default location comes from its sidecar; nothing else of
    the engine is read.
    """
    if tokenizer is None and not is_onnx_model(model_path):
        from trt_text_classifier.sidecar import read_sidecar

        tokenizer = read_sidecar(model_path).tokenizer_location(model_path)
    directory = model_files.cache_directory(tokenizer or model_directory(model_path))
    return BatchTokenizer.from_pretrained(directory, max_seq_length=max_seq_length)


def load_onnx_classifier(
    onnx_path: str, tokenizer: str | None, max_seq_length: int
) -> TextClassifier:
    from trt_text_classifier.backends.onnxruntime_backend import OnnxRuntimeBackend

    manifest = BundleManifest.model_validate_json(
        model_files.read_text(manifest_path_for(onnx_path))
    )
    batch_tokenizer = load_tokenizer(onnx_path, tokenizer, max_seq_length)
    backend = OnnxRuntimeBackend(model_files.cache_file(onnx_path))
    return TextClassifier(batch_tokenizer, backend, manifest.labels)


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
            engine_path, tokenizer or sidecar.tokenizer_location(engine_path), max_seq_length
        )
    except BaseException:
        backend.close()
        raise
    return TextClassifier(batch_tokenizer, backend, sidecar.labels)
