"""trt_text_classifier.commands: validate, launch, doctor, verify-engine, optional extras."""
