"""Launching: parameters, their checks, Beam/Dataflow options, template metadata. Never runs on a worker."""
