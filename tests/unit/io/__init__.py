"""trt_text_classifier.io: record formats, Pub/Sub messages, BigQuery rows."""
