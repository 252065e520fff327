"""Serving: the Beam ModelHandler, the classifier (tokenizer + backend + labels), model loading and swaps."""
