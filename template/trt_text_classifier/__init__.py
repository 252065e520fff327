"""BERT text classification on Apache Beam: ONNX Runtime locally, TensorRT on Dataflow GPUs."""

__version__ = "0.2.0"
"""The project's version: setup.py reads it from here, `trt-text-classifier --version` prints it."""
