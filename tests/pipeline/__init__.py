"""Whole pipelines on the DirectRunner over real files."""
