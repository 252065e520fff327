"""trt_text_classifier.model_tooling: export, precision, engine builds."""
