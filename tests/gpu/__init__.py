"""Tests on a real NVIDIA GPU (marked gpu; skipped where none is present)."""
