"""Lotsen: the application shell (CLI, settings, wiring)."""

__version__ = "0.1.0"
