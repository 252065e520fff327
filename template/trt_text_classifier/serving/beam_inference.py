"""Beam's RunInference API, as this package imports it: the one place that does.

Importing it here releases the placeholder that keeps Beam's ModelManager (and with it
torch) out of the process (`trt_text_classifier.defer_beam_model_manager`).
"""

from apache_beam.ml.inference.base import ModelHandler, RunInference

from trt_text_classifier import release_beam_model_manager

release_beam_model_manager()

__all__ = ["ModelHandler", "RunInference"]
