"""trt_text_classifier.serving: handler, tokenization, loading, model swaps."""
