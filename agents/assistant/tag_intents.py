"""Tier-0 intent over the tag contract: which models lack a tag or hold one Lotsen cannot read."""

from agents.assistant.context import FleetView
from agents.assistant.intent import Intent, Reply, as_json, env_team_words, lookup
from agents.assistant.query import Query
from tools.domain import Environment, RegisteredModel
from tools.registry.tag_contract import (
    CHANGE_PLAN,
    ENV,
    FEATURES,
    OWNER,
    PIPELINE,
    RISK,
    TASK,
    contract_problems,
)

_ABSENT = (
    r"\b(no|without|missing|lacks?|lacking)\b[\w\s-]{0,30}\btags?\b|"
    r"\btags?\b[\w\s]{0,20}\b(missing|not set|unset|unreadable|not understood)\b|"
    r"\buntagged\b|\bnot tagged\b"
)
_KEYS = (
    (OWNER, r"\bowner"),
    (ENV, r"\benv(ironment)?\b"),
    (RISK, r"\brisk\b|ai[ _]act"),
    (PIPELINE, r"\bpipeline\b"),
    (TASK, r"\btask\b"),
    (FEATURES, r"\bfeatures?\b"),
    (CHANGE_PLAN, r"change[ _]plan"),
)
"""Each contract tag and how a question names it."""


def _in_scope(model: RegisteredModel, query: Query) -> bool:
    """Of the asked team and environment; a model without an env counts as prod (strictest)."""
    if query.team is not None and model.owner != query.team:
        return False
    if query.env is None:
        return True
    return model.env is query.env or (model.env is None and query.env is Environment.PROD)


def tag_gaps(view: FleetView, query: Query) -> Reply:
    """Models (of a team/environment) missing a contract tag, or holding an unreadable value."""
    keys = [key for key, pattern in _KEYS if query.has(pattern)]
    found: dict[str, list[str]] = {}
    for model in sorted(view.models.values(), key=lambda m: m.name):
        if not _in_scope(model, query):
            continue
        problems = [p for p in contract_problems(model) if not keys or p.key in keys]
        if problems:
            found[model.name] = [f"{p.key} {p.problem}" for p in problems]
    scope = env_team_words(query)
    what = f"no readable {' or '.join(f'`{k}`' for k in keys)} tag" if keys else "tag-contract gaps"
    lead = f"{len(found)} {scope + ' ' if scope else ''}model(s) with {what}"
    lines = [f"- {name}: {', '.join(gaps)}" for name, gaps in list(found.items())[:50]]
    if len(found) > 50:
        lines.append(f"- ... and {len(found) - 50} more (`lotsen models lint` lists them all)")
    text = f"{lead}:\n" + "\n".join(lines) if found else f"{lead}."
    if query.env is Environment.PROD and any(view.models[n].env is None for n in found):
        text += "\nModels with no env tag are counted as prod (Lotsen treats them as prod)."
    return Reply(
        text=text,
        entities=list(found),
        facts={"models": as_json(found), "count": len(found), "tags": as_json(keys or "any")},
        lookups=[lookup("list_models", owner=query.team, env=query.env)],
    )


TAG_INTENTS: tuple[Intent, ...] = (
    Intent(
        "tag_gaps",
        "Which prod models have no owner tag?",
        lambda q: not q.models and q.has(_ABSENT),
        tag_gaps,
    ),
)
