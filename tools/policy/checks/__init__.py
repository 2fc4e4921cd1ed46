"""Policy checks by name; importing this package registers all of them."""

from tools.policy.checks import access, ai_act, segregation, tag_contract
from tools.policy.checks.registry import CHECKS, Check, check

__all__ = ["CHECKS", "Check", "access", "ai_act", "check", "segregation", "tag_contract"]
