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
    uses the ModelManager (`use_model_manager` stays False).

    A placeholder module stands in until `base` asks it for `ModelManager`: it answers None
    (what `base` falls back to when the import fails) and steps aside, so a later
    `use_model_manager=True` in the process imports the real module, as `base` then does.
    Here, in the package's root, it runs before a worker unpickles anything of ours, and so
    before Beam unpickles RunInference's DoFn next to our handler.
    """
    if "apache_beam.ml.inference.base" in sys.modules or BEAM_MODEL_MANAGER in sys.modules:
        return
    placeholder = types.ModuleType(BEAM_MODEL_MANAGER, "Placeholder: see trt_text_classifier.")

    def answer_once(name: str) -> None:
        if name != "ModelManager":
            raise AttributeError(name)
        if sys.modules.get(BEAM_MODEL_MANAGER) is placeholder:
            del sys.modules[BEAM_MODEL_MANAGER]
        return None

    placeholder.__getattr__ = answer_once  # type: ignore[method-assign]
    sys.modules[BEAM_MODEL_MANAGER] = placeholder


defer_beam_model_manager()
