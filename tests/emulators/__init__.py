"""Tests against the GCS and Pub/Sub emulators (marked emulators)."""
