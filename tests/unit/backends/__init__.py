"""trt_text_classifier.backends: ONNX Runtime and TensorRT backends."""
