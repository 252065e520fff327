"""Test helpers: emulator fixtures, test doubles, tiny models, job scripts (not tests)."""
