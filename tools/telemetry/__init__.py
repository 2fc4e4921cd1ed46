"""Telemetry: binning, the DuckDB store, and the synthetic fleet with fault injection."""
