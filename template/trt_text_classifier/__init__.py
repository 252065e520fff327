"""BERT text classification on Apache Beam: ONNX Runtime locally, TensorRT on Dataflow GPUs."""

__version__ = "0.1.0"
