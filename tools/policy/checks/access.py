"""Access governance checks."""

from typing import Any

from tools.domain import Namespace
from tools.policy.checks.registry import check
from tools.policy.durations import describe, period_param
from tools.policy.facts import PlatformFacts


@check("access_review_recent")
def access_review_recent(ns: Namespace, facts: PlatformFacts, params: dict[str, Any]) -> list[str]:
    """The namespace's access was reviewed within `max_age` (a period)."""
    max_age = period_param(params, "max_age", "P365D")
    if ns.access_reviewed_at is None:
        return ["access has never been reviewed"]
    age = facts.now - ns.access_reviewed_at
    if age > max_age:
        return [
            f"last access review {ns.access_reviewed_at:%Y-%m-%d} is {age.days} days old "
            f"(limit {describe(max_age)})"
        ]
    return []
