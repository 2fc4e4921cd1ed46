"""Read-only tools the LLM path adds to the catalogue's (same facts as the tier-0 intents)."""

from pydantic import BaseModel, Field

from agents.assistant import facts, ops_facts
from agents.assistant.context import AssistantToolContext, FleetView
from agents.assistant.intent import as_json
from tools.domain import Environment
from tools.runtime import ToolResult, ToolSpec, tool


class PipelineArgs(BaseModel):
    """One feature pipeline."""

    pipeline: str = Field(description="Feature pipeline name, e.g. growth-features-00.")


@tool()
def pipeline_models(tool_ctx: AssistantToolContext, args: PipelineArgs) -> ToolResult:
    """List the models a feature pipeline feeds (an upstream break hits all of them)."""
    ctx = tool_ctx.world
    view = FleetView(ctx)
    if args.pipeline not in view.pipelines:
        return ToolResult.fail(
            f"unknown pipeline {args.pipeline!r}; known: {', '.join(sorted(view.pipelines))}"
        )
    return ToolResult.ok(as_json(facts.pipeline_models(view, args.pipeline)))


class IdleArgs(BaseModel):
    """Filters for idle_deployments."""

    days: int | None = Field(
        default=None,
        ge=0,
        le=365,
        description="No request for at least this many days (default: the configured "
        "scale-to-zero threshold).",
    )
    env: Environment | None = Field(default=None, description="Only this environment.")


@tool()
def idle_deployments(tool_ctx: AssistantToolContext, args: IdleArgs) -> ToolResult:
    """List idle deployments: replicas but no request for N days (scale-to-zero candidates).

    A deployment whose last request is unknown is not listed (not provably idle).
    """
    ctx = tool_ctx.world
    found = facts.idle_deployments(FleetView(ctx), args.days, args.env)
    return ToolResult.ok(as_json(found)) if found.count else ToolResult.empty("nothing is idle")


class ChangesArgs(BaseModel):
    """One model's recent changes."""

    name: str = Field(description="Registered model name.")
    days: int | None = Field(default=None, ge=1, description="Only the last N days.")


@tool()
def recent_changes(tool_ctx: AssistantToolContext, args: ChangesArgs) -> ToolResult:
    """Show what changed for a model: alias moves, audit records, jobs, served versions."""
    ctx = tool_ctx.world
    view = FleetView(ctx)
    if args.name not in view.models:
        return ToolResult.fail(f"unknown model {args.name!r}; call list_models for names")
    return ToolResult.ok(as_json(facts.recent_changes(view, args.name, args.days)))


class NoArgs(BaseModel):
    """No arguments."""


@tool()
def open_data_incidents(tool_ctx: AssistantToolContext, args: NoArgs) -> ToolResult:
    """List open data incidents (upstream pipeline breaks) opened by remediation."""
    ctx = tool_ctx.world
    found = ops_facts.open_data_incidents(FleetView(ctx))
    if not found:
        return ToolResult.empty("no open data incident")
    return ToolResult.ok(as_json(found))


@tool()
def pending_approvals(tool_ctx: AssistantToolContext, args: NoArgs) -> ToolResult:
    """List changes waiting for a human approval (id, action, models, why)."""
    ctx = tool_ctx.world
    found = ops_facts.pending_approvals(FleetView(ctx))
    if not found:
        return ToolResult.empty("no approval request is pending")
    return ToolResult.ok(as_json(found))


ASSISTANT_TOOLS: tuple[ToolSpec, ...] = (
    pipeline_models,
    idle_deployments,
    recent_changes,
    open_data_incidents,
    pending_approvals,
)
