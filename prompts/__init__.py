"""Prompt templates as files, loaded by name, identified by the hash of each render."""

from prompts.loader import PromptError, RenderedPrompt, render_prompt, template_names

__all__ = ["PromptError", "RenderedPrompt", "render_prompt", "template_names"]
