"""Model tooling: Hugging Face -> ONNX bundle (export, demo model) and ONNX -> TensorRT engine."""
