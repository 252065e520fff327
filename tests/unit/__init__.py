"""Unit tests, one folder per package of trt_text_classifier (root modules here)."""
