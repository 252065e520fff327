"""One module per CLI command; see `trt_text_classifier.cli`."""
