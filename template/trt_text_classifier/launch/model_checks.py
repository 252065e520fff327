"""Launch checks that a model's pieces fit: the ONNX graph against its bundle.json, and against what the tokenizer produces."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from trt_text_classifier import model_files
from trt_text_classifier.bundle import BundleManifest, manifest_path_for
from trt_text_classifier.errors import ParameterError, one_line
from trt_text_classifier.launch.parameters import PipelineParameters
from trt_text_classifier.sidecar import EngineSidecar, model_sha256

if TYPE_CHECKING:
    from trt_text_classifier.serving.tokenization import BatchTokenizer

MODEL_CHECK_TIMEOUT_SECS = 120.0
"""Checking a gs:// ONNX model copies it (hundreds of MB): more time than a metadata call."""


ONNX_TOKEN_TYPES = ("int64", "int32")
"""Token ids and masks: what the tokenizer produces (the backend casts int64 to int32)."""


@dataclass(frozen=True)
class GraphTensor:
    """One input or output of the ONNX graph: its element type and its axes."""

    name: str
    dtype: str
    dims: tuple[int | str | None, ...]
    """Each axis: a fixed size (int), a symbolic name (str, dynamic) or None (unknown)."""


@dataclass(frozen=True)
class OnnxGraph:
    """What launch needs of an ONNX model, read once by `read_onnx_graph`."""

    inputs: tuple[GraphTensor, ...]
    outputs: tuple[GraphTensor, ...]
    embedding_rows: int | None
    """Rows of the word-embedding table (the 2-D initializer gathered by input_ids)."""


def read_onnx_graph(local_path: str, *, exported: Callable[[], bool]) -> OnnxGraph:
    """The graph's inputs, outputs and word-embedding rows (the one place launch reads ONNX).

    ONNX's checker reads the whole file again (0.6-1.1 s for BERT-base on 2 cores): it runs
    unless `exported()` says the file is byte for byte the one the export wrote, which
    ONNX Runtime loaded and compared with the framework's outputs there. Raises what `onnx`
    raises for a file that is not a valid model.
    """
    import onnx

    model = onnx.load(local_path, load_external_data=False)
    if not exported():
        onnx.checker.check_model(local_path)
    graph = model.graph
    initializers = {tensor.name: tuple(tensor.dims) for tensor in graph.initializer}

    def tensor(value: onnx.ValueInfoProto) -> GraphTensor:
        tensor_type = value.type.tensor_type
        element = tensor_type.elem_type
        dtype = onnx.helper.tensor_dtype_to_np_dtype(element).name if element else "untyped"
        dims: tuple[int | str | None, ...] = tuple(
            dim.dim_value if dim.HasField("dim_value") else (dim.dim_param or None)
            for dim in tensor_type.shape.dim
        )
        return GraphTensor(value.name, dtype, dims)

    # input_ids, or what a Cast / Identity of it is called, indexes the embedding table.
    token_ids = {INPUT_IDS}
    for node in graph.node:
        if node.op_type in ("Cast", "Identity") and node.input and node.input[0] in token_ids:
            token_ids.update(node.output)
    embedding_rows = None
    for node in graph.node:
        if node.op_type == "Gather" and len(node.input) == 2 and node.input[1] in token_ids:
            table = initializers.get(node.input[0])
            if table is not None and len(table) == 2:
                embedding_rows = int(table[0])
                break
    return OnnxGraph(
        inputs=tuple(tensor(value) for value in graph.input if value.name not in initializers),
        outputs=tuple(tensor(value) for value in graph.output),
        embedding_rows=embedding_rows,
    )


INPUT_IDS = "input_ids"


AXES = ("batch", "sequence")


def check_onnx_model(onnx_path: str, manifest: BundleManifest) -> OnnxGraph:
    """The model must be the bundle's file, valid ONNX, and fit the labels.

    Checked here: the SHA-256 against the bundle's onnx_sha256, ONNX's checker (for a
    model the manifest names no SHA-256 of: `read_onnx_graph`), integer token inputs with
    dynamic batch and sequence axes, and one (batch, labels) output as wide as the bundle's
    labels. What needs the tokenizer is `check_model_fits`. A gs:// model is copied into this
    process's cache first (the same copy a local run then serves).
    """
    where = f"--onnx_path={onnx_path!r}"
    local = model_files.cache_file(onnx_path)
    # Hashing and parsing each read the whole file: hashlib lets the hash run beside the parse.
    with ThreadPoolExecutor(max_workers=1) as pool:
        digest = pool.submit(model_sha256, local)
        try:
            graph: OnnxGraph | None = read_onnx_graph(
                local, exported=lambda: digest.result() == manifest.onnx_sha256
            )
            invalid = None
        except Exception as error:
            graph, invalid = None, one_line(error)
        if manifest.onnx_sha256 is not None and digest.result() != manifest.onnx_sha256:
            raise ParameterError(
                f"{where}: its SHA-256 differs from onnx_sha256 in "
                f"{manifest_path_for(onnx_path)}; the model or the manifest was replaced after "
                "the export: copy the whole exported directory, or export the model again"
            )
    if graph is None:
        raise ParameterError(
            f"{where}: is not a valid ONNX model ({invalid}); give a "
            "model.onnx written by `trt-text-classifier export` or `demo-model`"
        )
    for graph_input in graph.inputs:
        if graph_input.dtype not in ONNX_TOKEN_TYPES:
            raise ParameterError(
                f"{where}: input {graph_input.name!r} is {graph_input.dtype}, but the "
                f"tokenizer feeds {' or '.join(ONNX_TOKEN_TYPES)} token ids; export the model "
                "with `trt-text-classifier export`"
            )
        if len(graph_input.dims) != 2:
            raise ParameterError(
                f"{where}: input {graph_input.name!r} has {len(graph_input.dims)} axes, but the "
                "tokenizer feeds (batch, sequence) token ids; export the model with "
                "`trt-text-classifier export`"
            )
        for axis, size in zip(AXES, graph_input.dims, strict=True):
            if isinstance(size, int) and size > 0:
                raise ParameterError(
                    f"{where}: input {graph_input.name!r} has a fixed {axis} axis of {size}, "
                    "but batches vary in size and length; export the model with dynamic axes "
                    "(`trt-text-classifier export`)"
                )
    check_model_output(onnx_path, graph, manifest)
    return graph


def check_model_output(onnx_path: str, graph: OnnxGraph, manifest: BundleManifest) -> None:
    """One (batch, labels) output, as wide as the bundle's labels."""
    where = f"--onnx_path={onnx_path!r}"
    labels = len(manifest.labels)
    manifest_path = manifest_path_for(onnx_path)
    if labels == 0:
        raise ParameterError(
            f"{where}: {manifest_path} lists no labels; name one label per logits column "
            "(export the model again)"
        )
    if len(graph.outputs) != 1:
        names = ", ".join(repr(output.name) for output in graph.outputs)
        raise ParameterError(
            f"{where}: the model has {len(graph.outputs)} outputs ({names}), but one "
            "(batch, labels) logits output is served; export a sequence classifier with "
            "`trt-text-classifier export`"
        )
    output = graph.outputs[0]
    if len(output.dims) != 2:
        raise ParameterError(
            f"{where}: output {output.name!r} has {len(output.dims)} axes, but one "
            "(batch, labels) logits row per record is served; export a sequence classifier "
            "(not a token classifier) with `trt-text-classifier export`"
        )
    width = output.dims[1]
    if isinstance(width, int) and width > 0 and width != labels:
        raise ParameterError(
            f"{where}: output {output.name!r} has {width} columns but {manifest_path} lists "
            f"{labels} labels; give one label per logits column (export the model again)"
        )


def check_model_fits(
    params: PipelineParameters, graph: OnnxGraph, tokenizer: BatchTokenizer
) -> None:
    """The tokenizer must produce every model input and index inside its embedding table."""
    check_inputs_produced(
        ("onnx_path", params.onnx_path or ""),
        [graph_input.name for graph_input in graph.inputs],
        tokenizer,
        remedy="export the model with `trt-text-classifier export`, whose inputs the "
        "tokenizer feeds",
    )
    rows = graph.embedding_rows
    vocabulary = tokenizer.vocabulary_size
    if rows is None or rows == vocabulary:
        return
    name, value = ("tokenizer", params.tokenizer) if params.tokenizer else model_parameter(params)
    if vocabulary > rows or vocabulary < rows * MIN_VOCABULARY_SHARE:
        raise ParameterError(
            f"--{name}={value!r}: the tokenizer has {vocabulary} tokens but the model's word "
            f"embeddings have {rows} rows: it belongs to another model; give the tokenizer "
            "saved with this model (its export directory)"
        )


def check_engine_fits(
    params: PipelineParameters, sidecar: EngineSidecar, tokenizer: BatchTokenizer
) -> None:
    """The tokenizer must produce every engine input and be the one the engine was built with.

    An engine's sidecar records the size of the tokenizer copied beside it at build time
    (the export's, which fed the model in its parity check); a tokenizer of another size
    gives token ids the engine's embedding table was not made for.
    """
    check_inputs_produced(
        ("engine_path", params.engine_path or ""),
        sidecar.input_names,
        tokenizer,
        remedy="build the engine from a model exported with `trt-text-classifier export`, "
        "whose inputs the tokenizer feeds",
    )
    built_with = sidecar.tokenizer_vocabulary_size
    vocabulary = tokenizer.vocabulary_size
    if built_with is None or vocabulary == built_with:
        return
    name, value = ("tokenizer", params.tokenizer) if params.tokenizer else model_parameter(params)
    raise ParameterError(
        f"--{name}={value!r}: the tokenizer has {vocabulary} tokens but the engine was built "
        f"with a tokenizer of {built_with}: it belongs to another model; give the tokenizer "
        "built beside the engine (leave out --tokenizer)"
    )


def check_inputs_produced(
    parameter: tuple[str, str], input_names: Sequence[str], tokenizer: BatchTokenizer, remedy: str
) -> None:
    """Every input of the model or engine that `parameter` (name, value) names must be one
    the tokenizer produces."""
    name, value = parameter
    produced = tokenizer.output_names
    for input_name in input_names:
        if input_name not in produced:
            raise ParameterError(
                f"--{name}={value!r}: input {input_name!r} is not produced by the tokenizer "
                f"(it gives {', '.join(produced)}); {remedy}"
            )


MIN_VOCABULARY_SHARE = 0.9
"""A tokenizer using fewer of the embedding rows than this share is another model's (a model
may pad its table a little beyond the vocabulary, never by a tenth)."""


def model_parameter(params: PipelineParameters) -> tuple[str, str]:
    if params.onnx_path:
        return "onnx_path", params.onnx_path
    return "engine_path", params.engine_path or ""
