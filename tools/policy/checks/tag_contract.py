"""The tag contract: a model carries the tags every other rule reads."""

from typing import Any

from tools.domain import RegisteredModel
from tools.policy.checks.registry import check
from tools.policy.facts import PlatformFacts
from tools.registry.tag_contract import contract_problems


@check("tag_contract")
def tag_contract(model: RegisteredModel, facts: PlatformFacts, params: dict[str, Any]) -> list[str]:
    """The model's contract tags are present and readable (`lotsen models lint` details)."""
    return [str(p) for p in contract_problems(model)]
