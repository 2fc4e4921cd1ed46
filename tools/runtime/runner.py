"""Running tool calls from a model safely: validation, guards, gate, capped output."""

import json
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel, JsonValue, ValidationError

from tools.errors import LotsenError
from tools.runtime.envelope import ToolResult
from tools.runtime.spec import ToolSpec

logger = logging.getLogger(__name__)


class MutationGate(Protocol):
    """Decides whether a mutating tool call may run now (compliance + approval)."""

    def review(self, spec: ToolSpec, args: BaseModel) -> str | None:
        """None to allow; otherwise the reason it may not run (it is not executed)."""
        ...


class DenyAllMutations:
    """The default gate: mutations are proposals, never executed from a tool call."""

    def review(self, spec: ToolSpec, args: BaseModel) -> str | None:
        """Refuse every mutation."""
        return (
            f"{spec.name} changes the cluster or registry; it is not executed from chat. "
            "Propose it as an action: it needs the compliance gate and approval"
        )


@dataclass(frozen=True)
class RunLimits:
    """Guards for one run."""

    max_steps: int = 8
    """Tool calls allowed in one run."""
    max_repeats: int = 2
    """Identical calls (same tool, same arguments) allowed in one run."""
    max_output_chars: int = 6000
    """Longer results are truncated with a note."""


@dataclass
class ToolRunner:
    """Executes tool calls for one run; keeps the step and repeat counters."""

    tools: Iterable[ToolSpec]
    context: Any
    """Passed as the tools' first argument (registry, cluster, ...)."""
    limits: RunLimits = field(default_factory=RunLimits)
    gate: MutationGate = field(default_factory=DenyAllMutations)
    steps: int = field(default=0, init=False)
    _seen: Counter[str] = field(default_factory=Counter, init=False)

    def __post_init__(self) -> None:
        self.tools = tuple(self.tools)
        self._by_name = {spec.name: spec for spec in self.tools}

    def schemas(self) -> list[dict[str, Any]]:
        """OpenAI `tools` entries for every tool."""
        return [spec.openai_schema() for spec in self.tools]

    def call(self, name: str, raw_args: str | dict[str, Any] | None) -> ToolResult:
        """Run one call; every failure comes back as an error envelope, never an exception."""
        self.steps += 1
        if self.steps > self.limits.max_steps:
            return ToolResult.fail(
                f"step limit of {self.limits.max_steps} tool calls reached; "
                "answer with what you have"
            )
        spec = self._by_name.get(name)
        if spec is None:
            return ToolResult.fail(f"unknown tool {name!r}; available: {', '.join(self._by_name)}")
        try:
            args = spec.args_model.model_validate(_parse(raw_args))
        except (ValueError, TypeError, ValidationError) as exc:
            return ToolResult.fail(f"bad arguments for {name}: {_short(exc)}")
        key = name + json.dumps(args.model_dump(mode="json"), sort_keys=True)
        self._seen[key] += 1
        if self._seen[key] > self.limits.max_repeats:
            return ToolResult.fail(
                f"{name} was already called {self.limits.max_repeats} times "
                "with these arguments; use the earlier result"
            )
        if spec.mutating:
            refusal = self.gate.review(spec, args)
            if refusal is not None:
                return ToolResult.fail(refusal)
        return self._run(spec, args)

    def _run(self, spec: ToolSpec, args: BaseModel) -> ToolResult:
        try:
            result = spec.func(self.context, args)
        except LotsenError as exc:
            return ToolResult.fail(str(exc))
        except Exception as exc:  # a tool bug must not end the run; the model sees it
            logger.exception("tool %s failed", spec.name)
            return ToolResult.fail(f"{spec.name} failed: {type(exc).__name__}: {exc}")
        return cap_output(result, self.limits.max_output_chars)


def cap_output(result: ToolResult, max_chars: int) -> ToolResult:
    """Shorten a result that would flood the context: keep leading list items, say so."""
    if len(result.model_dump_json()) <= max_chars:
        return result
    data = result.data
    if isinstance(data, list):
        kept: list[JsonValue] = []
        for item in data:
            if len(json.dumps([*kept, item])) > max_chars - 200:
                break
            kept.append(item)
        note = f"truncated: showing {len(kept)} of {len(data)} items; narrow the query for more"
        return result.model_copy(update={"data": kept, "note": note})
    text = json.dumps(data)[: max_chars - 200]
    return result.model_copy(update={"data": text, "note": "truncated: output was too long"})


def _parse(raw: str | dict[str, Any] | None) -> dict[str, Any]:
    if raw is None or raw == "":
        return {}
    if isinstance(raw, dict):
        return raw
    parsed = json.loads(raw)
    if not isinstance(parsed, dict):
        raise TypeError(f"arguments must be a JSON object, got {type(parsed).__name__}")
    return parsed


def _short(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:3]
        )
    return str(exc)
