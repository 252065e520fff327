"""Every TensorRT call the build and serving code make exists, with that arity, in tensorrt_rtx.

Introspection of the installed bindings (pybind11 signatures in docstrings), so
that an API rename or a changed signature fails here rather than on a worker.
The `tensorrt` module the GPU image serves with has the same Python API
(`tensorrt_rtx` mirrors it); calls only the full library has are marked.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from support.repository import TEMPLATE

trt = pytest.importorskip("tensorrt_rtx")

PACKAGE = TEMPLATE / "trt_text_classifier"
CALLERS = (
    PACKAGE / "model_tooling" / "engine_build.py",
    PACKAGE / "backends" / "tensorrt_backend.py",
)

MODULE_ATTRIBUTES = {
    "__version__",
    "Builder",
    "BuilderFlag",
    "ComputeCapability",
    "EngineInvalidityDiagnostics",
    "EngineValidity",
    "ILogger",
    "Logger",
    "MemoryPoolType",
    "NetworkDefinitionCreationFlag",
    "OnnxParser",
    "Runtime",
    "nptype",
}
"""What the code takes from the module itself (checked against the code below)."""

METHODS = [
    # (class, method, positional arguments the code passes, besides self)
    ("Builder", "create_network", 1),
    ("Builder", "create_builder_config", 0),
    ("Builder", "create_optimization_profile", 0),
    ("Builder", "build_serialized_network", 2),
    ("IBuilderConfig", "set_memory_pool_limit", 2),
    ("IBuilderConfig", "set_flag", 1),
    ("IBuilderConfig", "set_compute_capability", 2),
    ("IBuilderConfig", "add_optimization_profile", 1),
    ("IBuilderConfig", "create_timing_cache", 1),
    ("IBuilderConfig", "set_timing_cache", 2),
    ("IBuilderConfig", "get_timing_cache", 0),
    ("INetworkDefinition", "get_input", 1),
    ("INetworkDefinition", "get_output", 1),
    ("OnnxParser", "parse_from_file", 1),
    ("OnnxParser", "get_error", 1),
    ("ParserError", "node_name", 0),
    ("ParserError", "node", 0),
    ("ParserError", "node_operator", 0),
    ("ParserError", "desc", 0),
    ("IOptimizationProfile", "set_shape", 4),
    ("Runtime", "deserialize_cuda_engine", 1),
    ("Runtime", "get_engine_validity", 1),
    ("ICudaEngine", "get_tensor_name", 1),
    ("ICudaEngine", "get_tensor_dtype", 1),
    ("ICudaEngine", "create_execution_context", 0),
    ("IExecutionContext", "set_tensor_address", 2),
    ("IExecutionContext", "set_input_shape", 2),
    ("IExecutionContext", "get_tensor_shape", 1),
    ("IExecutionContext", "execute_async_v3", 1),
]
PROPERTIES = [
    ("IBuilderConfig", "num_compute_capabilities"),
    ("INetworkDefinition", "num_inputs"),
    ("INetworkDefinition", "num_outputs"),
    ("OnnxParser", "num_errors"),
    ("ITensor", "name"),
    ("ITensor", "shape"),
    ("ITensor", "dtype"),
    ("ICudaEngine", "num_io_tensors"),
    ("ICudaEngine", "device_memory_size_v2"),
]
CONSTRUCTORS = [("Logger", 1), ("Runtime", 1), ("Builder", 1), ("OnnxParser", 2)]

_SIGNATURE = re.compile(r"^(?:\d+\. )?\w+\((?P<parameters>.*)\) -> ", re.MULTILINE)


def arities(function: object) -> set[int]:
    """How many positional arguments (besides self) each overload in the docstring accepts."""
    accepted: set[int] = set()
    for match in _SIGNATURE.finditer(function.__doc__ or ""):
        parameters = [p.strip() for p in match.group("parameters").split(", ") if p.strip()]
        parameters = [p for p in parameters if not p.startswith("self")]
        required = sum("=" not in p for p in parameters)
        accepted.update(range(required, len(parameters) + 1))
    return accepted


@pytest.mark.parametrize(("owner", "name", "count"), METHODS)
def test_method_exists_with_the_arity_the_code_uses(owner: str, name: str, count: int) -> None:
    method = getattr(getattr(trt, owner), name)
    assert count in arities(method), f"{owner}.{name} accepts {sorted(arities(method))}"


@pytest.mark.parametrize(("owner", "name"), PROPERTIES)
def test_property_exists(owner: str, name: str) -> None:
    assert isinstance(getattr(getattr(trt, owner), name), property)


@pytest.mark.parametrize(("owner", "count"), CONSTRUCTORS)
def test_constructor_takes_the_arguments_the_code_passes(owner: str, count: int) -> None:
    assert count in arities(getattr(trt, owner).__init__)


def test_enumerations_and_module_functions_the_code_names() -> None:
    assert trt.Logger.WARNING is not None
    assert {"ERROR", "INTERNAL_ERROR"} <= set(trt.ILogger.Severity.__members__)
    assert trt.MemoryPoolType.WORKSPACE is not None
    assert trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED is not None
    assert any(name.startswith("SM") for name in trt.ComputeCapability.__members__)
    assert trt.EngineValidity.INVALID is not None
    assert trt.EngineInvalidityDiagnostics.__members__
    assert callable(trt.nptype)


def module_attributes_used(path: Path) -> set[str]:
    """NAME of every `trt.NAME` and `<x>.trt.NAME` in a source file."""
    used = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Attribute):
            continue
        base = node.value
        is_module = (isinstance(base, ast.Name) and base.id == "trt") or (
            isinstance(base, ast.Attribute) and base.attr == "trt"
        )
        if is_module:
            used.add(node.attr)
    return used


def test_the_table_covers_every_module_attribute_the_code_uses() -> None:
    used = set().union(*(module_attributes_used(path) for path in CALLERS))
    assert used <= MODULE_ATTRIBUTES, f"add to this test: {sorted(used - MODULE_ATTRIBUTES)}"
    for name in MODULE_ATTRIBUTES:
        assert hasattr(trt, name), name
