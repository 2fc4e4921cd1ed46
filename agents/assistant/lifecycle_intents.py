"""Tier-0 intent over model lifecycles: which models have not been retrained for a while."""

from datetime import datetime

from agents.assistant.context import FleetView
from agents.assistant.intent import Intent, Reply, as_json, env_team_words, lookup
from agents.assistant.query import Query

DEFAULT_DAYS = 90
"""The age asked about when a question names none ("which models are stale?")."""
_STALE = (
    r"(not|n't|never) (been )?(re)?trained|(re)?trained (longest|least recently)|"
    r"\bstale models\b|models? (are|is) (stale|outdated)|(oldest|outdated) (models?|versions?)|"
    r"last (re)?train(ed|ing)? (was )?(over|more)"
)


def stale_models(view: FleetView, query: Query) -> Reply:
    """Models (of a team/environment) whose newest version is older than the days asked."""
    oldest = query.has(r"\boldest\b") and query.days is None
    days = 0 if oldest else query.days or DEFAULT_DAYS
    now = view.ctx.clock()
    newest: dict[str, datetime] = {}
    for version in view.ctx.registry.all_versions():
        seen = newest.get(version.model)
        if seen is None or version.created_at > seen:
            newest[version.model] = version.created_at
    rows = sorted(
        (
            (newest[m.name], m.name)
            for m in view.models.values()
            if m.name in newest
            and (query.team is None or m.owner == query.team)
            and (query.env is None or m.env is query.env)
            and (oldest or (now - newest[m.name]).days >= days)
        ),
    )
    scope = env_team_words(query)
    lines = [
        f"- {name}: newest version {at:%Y-%m-%d} ({max((now - at).days, 0)} days)"
        for at, name in rows
    ]
    shown = lines[:50] + ([f"- ... and {len(lines) - 50} more"] if len(lines) > 50 else [])
    lead = (
        f"{len(rows)} {scope + ' ' if scope else ''}model(s) not retrained in {days} days "
        "(no version registered since)"
    )
    if oldest:  # "what's the oldest model in prod?": the ten oldest, oldest first
        rows, shown = rows[:10], lines[:10]
        lead = f"The {scope + ' ' if scope else ''}model(s) retrained longest ago, oldest first"
    return Reply(
        text=f"{lead}:\n" + "\n".join(shown) if rows else f"{lead}.",
        entities=[name for _, name in rows],
        facts={
            "days": days,
            "models": as_json({name: at for at, name in rows}),
            "count": len(rows),
        },
        lookups=[lookup("all_versions")],
    )


LIFECYCLE_INTENTS: tuple[Intent, ...] = (
    Intent(
        "stale_models",
        "Which models have not been retrained in 90 days?",
        lambda q: not q.models and q.has(_STALE),
        stale_models,
    ),
)
