"""Wiring of the LLM layer from settings: tiers, chat models, usage ledger."""

from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from pydantic import TypeAdapter, ValidationError

from llm.tiers import LlmTier, check_tiers, find_tier
from llm.usage import UsageLedger
from tools.errors import ConfigError
from tools.yamlfile import read_text, yaml_problem
from world.settings import Settings

if TYPE_CHECKING:  # LangChain is imported only when a tier is actually used
    from llm.call import LlmContext


def configured_tiers(settings: Settings) -> list[LlmTier]:
    """Tiers from LOTSEN_LLM_TIERS, else from LOTSEN_LLM_TIERS_FILE, else none (tier 0)."""
    if settings.llm_tiers or settings.llm_tiers_file is None:
        return check_tiers(list(settings.llm_tiers))
    return check_tiers(_load_file(settings.llm_tiers_file))


def llm_context(
    settings: Settings, tier: str | None = None, ledger: UsageLedger | None = None
) -> "LlmContext | None":
    """The LLM for a tier (cheapest by default), or None when only tier 0 is configured."""
    from llm.call import LlmContext
    from llm.chat import chat_model

    tiers = configured_tiers(settings)
    if not tiers and tier is None:
        return None
    chosen = find_tier(tiers, tier)
    usage = ledger or UsageLedger(settings.data_dir / "llm_usage.jsonl")
    return LlmContext(tier=chosen, model=chat_model(chosen), ledger=usage)


def _load_file(path: Path) -> list[LlmTier]:
    text = read_text(path, what="LOTSEN_LLM_TIERS_FILE")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:  # never the file's lines: they may hold an api_key
        raise ConfigError(f"{path} is not valid YAML ({yaml_problem(exc)})") from None
    try:
        return TypeAdapter(list[LlmTier]).validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{path}: tier {where}: {first['msg']}") from None
