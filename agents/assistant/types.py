"""What the assistant answers with: text plus the exact facts, entities and proposals."""

from pydantic import BaseModel, Field, JsonValue

from llm.records import ToolCallRecord
from llm.tiers import TIER0
from tools.policy.action import ProposedAction


class AssistantAnswer(BaseModel):
    """One answer. Evaluators check `entities`, `facts` and `proposals`, not the prose."""

    question: str
    text: str
    """The answer in words (tier 0: rendered from `facts`)."""
    intent: str | None = None
    """Tier-0 intent that answered (e.g. `owner`); None when an LLM answered."""
    entities: list[str] = Field(default_factory=list)
    """Exact model/namespace/pool/pipeline names the answer refers to."""
    facts: dict[str, JsonValue] = Field(default_factory=dict)
    """The structured data behind the answer (tier 0), for exact checks."""
    tool_calls: list[ToolCallRecord] = Field(default_factory=list)
    """Read-only lookups (tier 0) or the model's tool calls (LLM), with their status."""
    proposals: list[ProposedAction] = Field(default_factory=list)
    """Changes the answer proposes. Never executed here: they need the gate and approval."""
    tier: str = TIER0
    fallback_reason: str | None = None
    """Why an LLM tier was asked but tier 0 answered."""
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    steps: int = 0
    """Model turns (LLM) or lookups (tier 0)."""
    prompt_sha256: str | None = None
    """Hash of the rendered system prompt (LLM path)."""


__all__ = ["TIER0", "AssistantAnswer", "ProposedAction", "ToolCallRecord"]
