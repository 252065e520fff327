"""Model tooling: Hugging Face export, the demo model, TensorRT engine builds. Commands use it; serving never does."""
