"""Shared fixtures. The emulator fixtures live in their own module."""

pytest_plugins = ["emulators"]
