"""BERT text classification on Apache Beam: ONNX Runtime locally, TensorRT on Dataflow GPUs."""

import sys
import types

__version__ = "0.2.0"
"""The project's version: setup.py reads it from here, `trt-text-classifier --version` prints it."""

BEAM_MODEL_MANAGER = "apache_beam.ml.inference.model_manager"
"""Beam's ModelManager module: it imports torch at module level (see `defer_beam_model_manager`)."""


def defer_beam_model_manager() -> None:
    """Keep Beam's RunInference from importing torch in every process that runs this package.

    Beam's `apache_beam.ml.inference.base` imports `ModelManager` when it is first imported,
    and `model_manager` imports torch whenever torch is installed (a local install with the
    `export` extra, a GPU host): 1.2 s and a heap that every full garbage collection and the
    interpreter's exit walk again, in the launcher and in each SDK process. This package never
    uses the ModelManager (`use_model_manager` stays False). A placeholder with
    `ModelManager = None` (what `base` falls back to when the import fails) stands in for the
    module until `base` is loaded; `release_beam_model_manager` then removes it, so a later
    `use_model_manager=True` elsewhere in the process imports the real one, as `base` does.

    Here, in the package's root, it runs before a worker unpickles anything of ours, and so
    before Beam unpickles RunInference's DoFn next to our handler.
    """
    if "apache_beam.ml.inference.base" in sys.modules or BEAM_MODEL_MANAGER in sys.modules:
        return
    placeholder = types.ModuleType(BEAM_MODEL_MANAGER, "Placeholder: see trt_text_classifier.")
    placeholder.ModelManager = None  # type: ignore[attr-defined]
    placeholder.deferred_by = __name__  # type: ignore[attr-defined]
    sys.modules[BEAM_MODEL_MANAGER] = placeholder


def release_beam_model_manager() -> None:
    """Remove `defer_beam_model_manager`'s placeholder (once Beam's `base` is loaded)."""
    if getattr(sys.modules.get(BEAM_MODEL_MANAGER), "deferred_by", None) == __name__:
        del sys.modules[BEAM_MODEL_MANAGER]


defer_beam_model_manager()
