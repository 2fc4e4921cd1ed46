"""Reading a question: which known names, environments, teams and numbers it mentions.

Names are matched exactly against the world (models, pipelines, namespaces, pools); a
name-like word that matches nothing is kept as `unknown`, so the answer can say so and
suggest the closest real names instead of guessing.
"""

import difflib
import re
from dataclasses import dataclass, field
from typing import TypeVar

from agents.assistant.context import FleetView
from tools.domain import Environment

T = TypeVar("T")
_TOKEN = re.compile(r"[a-z0-9][a-z0-9._/-]*[a-z0-9]|[a-z0-9]")
_ENV_WORDS = {
    "dev": Environment.DEV,
    "development": Environment.DEV,
    "test": Environment.TEST,
    "testing": Environment.TEST,
    "staging": Environment.TEST,
    "prod": Environment.PROD,
    "production": Environment.PROD,
}
_TEAM = re.compile(
    r"\b([a-z][a-z-]*)\s+team\b|\bteam\s+([a-z][a-z-]*)|\bowned\s+by\s+(?:the\s+)?([a-z][a-z-]*)"
)
_POLICY_ID = re.compile(r"^[a-z]{2,5}-\d{2,3}$")
_DAYS = re.compile(r"\b(\d+)\s*(days?|d|weeks?|w)\b")
_VERSION = re.compile(r"\b(?:v|version\s*)(\d+)\b")
_NAMED = re.compile(
    r"\b(?:model|of|for|about|owns|is)\s+([a-z][a-z0-9_-]*)|\b([a-z][a-z0-9_-]*)\s+model\b"
)
_GENERIC = {
    "high-risk",
    "scale-to-zero",
    "read-only",
    "four-eyes",
    "time-sliced",
    "the",
    "a",
    "an",
    "this",
    "that",
    "which",
    "what",
    "my",
    "our",
    "each",
    "every",
    "all",
    "any",
    "its",
}


@dataclass
class Query:
    """A question and what it mentions."""

    text: str
    """Lower-cased question."""
    models: list[str] = field(default_factory=list)
    pipelines: list[str] = field(default_factory=list)
    namespaces: list[str] = field(default_factory=list)
    pools: list[str] = field(default_factory=list)
    envs: list[Environment] = field(default_factory=list)
    teams: list[str] = field(default_factory=list)
    policies: list[str] = field(default_factory=list)
    """Policy ids (e.g. AIA-03), upper-cased."""
    unknown: list[str] = field(default_factory=list)
    """Name-like words that match no model, pipeline, namespace or pool."""
    days: int | None = None
    version: int | None = None

    def has(self, pattern: str) -> bool:
        """Whether the question matches a regex (searched, lower-case)."""
        return re.search(pattern, self.text) is not None

    @property
    def env(self) -> Environment | None:
        """The one environment mentioned, if exactly one."""
        return self.envs[0] if len(self.envs) == 1 else None

    @property
    def team(self) -> str | None:
        """The one team mentioned, if exactly one."""
        return self.teams[0] if len(self.teams) == 1 else None


def parse(question: str, view: FleetView) -> Query:
    """Find what `question` mentions in this world."""
    text = " ".join(question.lower().split())
    query = Query(text=text)
    for token in _TOKEN.findall(text):
        _classify(token.strip("./"), query, view)
    for match in _TEAM.finditer(text):
        team = next(g for g in match.groups() if g)
        if team in view.teams:
            _add(query.teams, team)
    for match in _NAMED.finditer(text):
        word = next(g for g in match.groups() if g)
        if word not in _GENERIC and word not in view.teams and _is_unmatched(word, query, view):
            _add(query.unknown, word)
    query.days = _days(text)
    version = _VERSION.search(text)
    query.version = int(version.group(1)) if version else None
    return query


def _classify(token: str, query: Query, view: FleetView) -> None:
    if token in view.models:
        _add(query.models, token)
    elif token in view.pipelines:
        _add(query.pipelines, token)
    elif token in view.namespace_names:
        _add(query.namespaces, token)
    elif token in view.pool_names:
        _add(query.pools, token)
    elif token in _ENV_WORDS:
        _add(query.envs, _ENV_WORDS[token])
    elif _POLICY_ID.match(token):
        _add(query.policies, token.upper())
    elif _name_like(token):
        _add(query.unknown, token)


def closest_models(name: str, view: FleetView, limit: int = 5) -> list[str]:
    """Real model names closest to `name`: same prefix first, then by similarity."""
    names = sorted(view.models)
    prefixed = [n for n in names if n.startswith(name + "-") or n.startswith(name)]
    if prefixed:
        return prefixed[:limit]
    return difflib.get_close_matches(name, names, n=limit, cutoff=0.5)


def _add(items: list[T], item: T) -> None:
    if item not in items:
        items.append(item)


def _name_like(token: str) -> bool:
    """Looks like an object name: letters with a hyphen and a digit (churn-9999, fraud-v7)."""
    return "-" in token and any(c.isdigit() for c in token) and any(c.isalpha() for c in token)


def _is_unmatched(word: str, query: Query, view: FleetView) -> bool:
    known = (*view.models, *view.pipelines, *view.namespace_names, *view.pool_names)
    if word in known or word in _ENV_WORDS or word in query.unknown:
        return False
    return any(n.startswith(word + "-") for n in view.models) or _name_like(word)


def _days(text: str) -> int | None:
    match = _DAYS.search(text)
    if match is None:
        return 30 if re.search(r"\ba month\b", text) else (7 if "a week" in text else None)
    count = int(match.group(1))
    return count * 7 if match.group(2).startswith("w") else count
