"""trt_text_classifier.dataflow: GPU catalog, image runtime, worker boot, container."""
