"""Tool runtime: typed tools, the result envelope, the guarded runner."""

from tools.runtime.envelope import ToolResult
from tools.runtime.runner import DenyAllMutations, MutationGate, RunLimits, ToolRunner
from tools.runtime.spec import ToolSpec, tool

__all__ = [
    "DenyAllMutations",
    "MutationGate",
    "RunLimits",
    "ToolResult",
    "ToolRunner",
    "ToolSpec",
    "tool",
]
