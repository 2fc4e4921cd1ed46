"""Prompt templates as files, loaded by name (arrives with the LLM-layer issue)."""
