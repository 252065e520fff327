"""Dataflow specifics: GPU catalog, accelerator syntax, metadata.json, template launch."""
