"""trt_text_classifier.launch: parameters, options, preflight checks, template metadata."""
