"""What an engine is (sidecar), how it is built (build, precision) and what it can run on."""
