"""Model tiers: an ordered list of OpenAI-compatible endpoints (vLLM), cheapest first.

Tier 0 is no LLM at all: every agent's deterministic core. It needs no configuration.
"""

from enum import StrEnum
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from tools.errors import ConfigError

TIER0 = "tier0"
"""Name recorded when a decision came from deterministic code."""


class Capability(StrEnum):
    """What an endpoint can do (what `lotsen llm check` verifies)."""

    CHAT = "chat"
    TOOLS = "tools"
    """Tool calling (vLLM: --enable-auto-tool-choice --tool-call-parser ...)."""
    JSON_SCHEMA = "json_schema"
    """Structured outputs via `response_format` json_schema."""


class LlmTier(BaseModel):
    """One OpenAI-compatible endpoint and what it costs."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    name: str = Field(min_length=1)
    """Short name used in settings, logs and the router, e.g. `small`."""
    base_url: str
    """e.g. http://vllm-small:8000/v1"""
    model: str
    """Model name the server serves (vLLM: --served-model-name or the HF id)."""
    api_key: SecretStr | None = None
    context_length: int = Field(default=8192, gt=0)
    cost_per_1k_input: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    """Cost unit per 1,000 prompt tokens (e.g. EUR, or GPU-seconds)."""
    cost_per_1k_output: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    capabilities: frozenset[Capability] = frozenset(Capability)
    timeout_s: float = Field(default=60.0, gt=0, allow_inf_nan=False)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http:// or https:// URL, e.g. http://vllm:8000/v1")
        return value

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        """Cost of one call."""
        return (
            input_tokens * self.cost_per_1k_input + output_tokens * self.cost_per_1k_output
        ) / 1000


def check_tiers(tiers: list[LlmTier]) -> list[LlmTier]:
    """Refuse duplicate names and the reserved name `tier0`."""
    seen: set[str] = set()
    for tier in tiers:
        if tier.name == TIER0:
            raise ConfigError(f"LLM tier name {TIER0!r} is reserved for the no-LLM tier")
        if tier.name in seen:
            raise ConfigError(f"LLM tier {tier.name!r} is configured twice")
        seen.add(tier.name)
    return tiers


def find_tier(tiers: list[LlmTier], name: str | None) -> LlmTier:
    """The named tier, or the first (cheapest) one when name is None.

    Raises:
        ConfigError: no tiers are configured, or none has that name.
    """
    if not tiers:
        raise ConfigError(
            "no LLM tier is configured (tier 0 only); set LOTSEN_LLM_TIERS to a JSON list, "
            """e.g. '[{"name": "small", "base_url": "http://127.0.0.1:8000/v1", """
            """"model": "Qwen/Qwen2.5-7B-Instruct"}]'"""
        )
    if name is None:
        return tiers[0]
    for tier in tiers:
        if tier.name == name:
            return tier
    raise ConfigError(f"unknown LLM tier {name!r}; configured: {', '.join(t.name for t in tiers)}")
