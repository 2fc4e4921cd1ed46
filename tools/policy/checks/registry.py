"""The registry of named policy checks.

A check looks at one subject (a model, namespace, deployment, pool, GPU or environment) and
returns what is wrong with it, one message per problem; an empty list is a pass.
"""

from collections.abc import Callable
from typing import Any

from tools.policy.facts import PlatformFacts

Check = Callable[[Any, PlatformFacts, dict[str, Any]], list[str]]

CHECKS: dict[str, Check] = {}


def check(name: str) -> Callable[[Check], Check]:
    """Register a check under the name policy files use."""

    def register(func: Check) -> Check:
        CHECKS[name] = func
        return func

    return register
