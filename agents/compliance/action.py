"""What the compliance gate reviews (defined in tools/policy, where tools can use it too)."""

from tools.policy.action import ActionKind, GateDecision, ProposedAction, Verdict

__all__ = ["ActionKind", "GateDecision", "ProposedAction", "Verdict"]
