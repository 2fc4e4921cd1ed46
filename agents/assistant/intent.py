"""What an intent is: a matcher over a parsed question and a handler that answers it.

Intents form a small ordered registry (see `grammar.py`); other agents add theirs through
`AssistantContext.extra_intents` without touching the built-in ones.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import JsonValue, TypeAdapter
from pydantic_core import to_jsonable_python

from agents.assistant.context import FleetView
from agents.assistant.query import Query, closest_models
from llm.records import ToolCallRecord
from tools.policy.action import ProposedAction


@dataclass
class Reply:
    """A tier-0 answer before it is wrapped into an `AssistantAnswer`."""

    text: str
    entities: list[str] = field(default_factory=list)
    facts: dict[str, JsonValue] = field(default_factory=dict)
    lookups: list[ToolCallRecord] = field(default_factory=list)
    proposals: list[ProposedAction] = field(default_factory=list)


Handler = Callable[[FleetView, Query], Reply]
_JSON: TypeAdapter[JsonValue] = TypeAdapter(JsonValue)


@dataclass(frozen=True)
class Intent:
    """One kind of question the deterministic core answers."""

    name: str
    example: str
    """An example question (shown in help, used in tests)."""
    matches: Callable[[Query], bool]
    handle: Handler


def keyword_intent(name: str, example: str, pattern: str, handle: Handler) -> Intent:
    """An intent that matches when the question matches `pattern` (a regex)."""
    return Intent(name=name, example=example, matches=lambda q: q.has(pattern), handle=handle)


def as_json(value: object) -> JsonValue:
    """Facts (pydantic models, lists, dicts, datetimes) as JSON-shaped data."""
    return _JSON.validate_python(to_jsonable_python(value))


def env_team_words(query: Query) -> str:
    """The environment and team a question is scoped to, as words ("prod fraud team")."""
    words = (query.env.value if query.env else "", f"{query.team} team" if query.team else "")
    return " ".join(w for w in words if w)


def lookup(tool: str, status: str = "ok", /, **args: object) -> ToolCallRecord:
    """Record a read-only lookup the way the LLM path records tool calls."""
    shown = {k: v for k, v in args.items() if v not in (None, [], ())}
    return ToolCallRecord(name=tool, args=json.dumps(shown, default=str), status=status)


def per_model(handle_one: Callable[[FleetView, Query, str], Reply]) -> Handler:
    """A handler for questions about named models: each one, or an unknown/which-model reply."""

    def handle(view: FleetView, query: Query) -> Reply:
        if not query.models:
            return unknown_or_which(view, query)
        replies = [handle_one(view, query, model) for model in query.models]
        if len(replies) == 1:
            return replies[0]
        return Reply(
            text="\n".join(r.text for r in replies),
            entities=[e for r in replies for e in r.entities],
            facts={"answers": [r.facts for r in replies]},
            lookups=[c for r in replies for c in r.lookups],
        )

    return handle


def unknown_or_which(view: FleetView, query: Query) -> Reply:
    """No known model in the question: name the unknown ones and their closest matches."""
    if not query.unknown:
        return Reply(
            text="Which model? Name it exactly (e.g. "
            f"{', '.join(sorted(view.models)[:3]) or 'churn-0001'}); "
            "`lotsen models list` shows them all.",
            facts={"unknown": [], "suggestions": {}},
        )
    suggestions = {word: closest_models(word, view) for word in query.unknown}
    lines = []
    for word, close in suggestions.items():
        if close and all(c.startswith(word) for c in close) and word not in close:
            lines.append(f"'{word}' matches several models: {', '.join(close)}. Which one?")
        elif close:
            lines.append(f"I know no model named '{word}'. Closest names: {', '.join(close)}.")
        else:
            lines.append(f"I know no model named '{word}', nor any similar name.")
    return Reply(
        text="\n".join(lines),
        entities=sorted({c for close in suggestions.values() for c in close}),
        facts={"unknown": as_json(list(suggestions)), "suggestions": as_json(suggestions)},
        lookups=[lookup("list_models", "no_data", name=w) for w in suggestions],
    )
