"""Inference backends: one module each behind the `InferenceBackend` protocol.

Backends import neither Beam nor transformers, so that they (and their GPU
tests) run on machines that have only the inference library installed.
"""
