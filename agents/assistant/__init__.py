"""The ops assistant: the chat front over read-only tools; changes only as proposals.

Tier 0 answers from a deterministic intent grammar; a configured LLM tier answers through
the tool loop with mutations turned into proposals, and falls back to tier 0 on failure.
"""

from agents.assistant.answer import answer
from agents.assistant.context import AssistantContext
from agents.assistant.types import AssistantAnswer, ToolCallRecord

__all__ = ["AssistantAnswer", "AssistantContext", "ToolCallRecord", "answer"]
