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
    from world.world import World

ROUTE_AUDIT_KIND = "route_decision"


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


def routed_llm(world: "World", task: str) -> "LlmContext | None":
    """The router's tier for a task class (None: tier 0, or no LLM tier configured).

    The decision goes onto the call's usage records (or a tier-0 record when tier 0 was
    chosen) and, when the world has an audit log, into it (`route_decision`).
    """
    tiers = configured_tiers(world.settings)
    if not tiers:
        return None
    from dataclasses import replace
    from datetime import UTC, datetime

    from agents.router.chat import health_from_ledger, recent_usage, registry_for
    from agents.router.policy import Router, RouteRequest
    from llm.tiers import TIER0
    from llm.usage import UsageRecord

    now = datetime.now(UTC)
    registry = registry_for(world.settings.data_dir, tiers)
    usage = recent_usage(world.settings.data_dir / "llm_usage.jsonl")
    router = Router(registry, health=health_from_ledger(usage, now), stale=registry.is_stale(now))
    agent = task.split("/")[0]
    decision = router.route(
        RouteRequest(task_class=task, agent=agent, available=[TIER0, *(t.name for t in tiers)])
    )
    note = f"{task}: {decision.why}"
    if world.state.audit_db.exists():
        world.audit.append(
            ROUTE_AUDIT_KIND,
            actor=agent,
            data=decision.model_dump(
                mode="json",
                include={"task_class", "agent", "tier", "cascade", "why", "routed_around", "stale"},
            ),
        )
    if decision.tier == TIER0:
        world.ledger.add(UsageRecord(agent=agent, task=task, tier=TIER0, route=note))
        return None
    chosen = llm_context(world.settings, decision.tier, world.ledger)
    return None if chosen is None else replace(chosen, route=note)


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
