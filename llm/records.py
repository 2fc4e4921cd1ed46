"""Records of an LLM exchange that answers carry, importable without LangChain.

Tier-0 answers hold them too (their read-only lookups), so a question that no LLM answers
does not pay for importing LangChain.
"""

from pydantic import BaseModel


class ToolCallRecord(BaseModel):
    """One tool call the model made and what it got back."""

    name: str
    args: str
    status: str
