"""The compliance reviewer's action gate (its deterministic core lives in tools/policy)."""

from tools.policy.gate import ALWAYS_HUMAN, ComplianceGate

__all__ = ["ALWAYS_HUMAN", "ComplianceGate"]
