"""Read-only tools the LLM path adds to the catalogue's (same facts as the tier-0 intents)."""

from pydantic import BaseModel, Field

from agents.assistant import facts
from agents.assistant.context import AssistantContext, FleetView
from agents.assistant.intent import as_json
from tools.domain import Environment
from tools.runtime import ToolResult, ToolSpec, tool


class PipelineArgs(BaseModel):
    """One feature pipeline."""

    pipeline: str = Field(description="Feature pipeline name, e.g. growth-features-00.")


@tool()
def pipeline_models(ctx: AssistantContext, args: PipelineArgs) -> ToolResult:
    """List the models a feature pipeline feeds (an upstream break hits all of them)."""
    view = FleetView(ctx)
    if args.pipeline not in view.pipelines:
        return ToolResult.fail(
            f"unknown pipeline {args.pipeline!r}; known: {', '.join(sorted(view.pipelines))}"
        )
    return ToolResult.ok(as_json(facts.pipeline_models(view, args.pipeline)))


class IdleArgs(BaseModel):
    """Filters for idle_deployments."""

    days: int = Field(
        default=7, ge=0, le=365, description="No request for at least this many days."
    )
    env: Environment | None = Field(default=None, description="Only this environment.")


@tool()
def idle_deployments(ctx: AssistantContext, args: IdleArgs) -> ToolResult:
    """List deployments with no traffic for N days (scale-to-zero candidates)."""
    found = facts.idle_deployments(FleetView(ctx), args.days, args.env)
    return ToolResult.ok(as_json(found)) if found.count else ToolResult.empty("nothing is idle")


class ChangesArgs(BaseModel):
    """One model's recent changes."""

    name: str = Field(description="Registered model name.")
    days: int | None = Field(default=None, ge=1, description="Only the last N days.")


@tool()
def recent_changes(ctx: AssistantContext, args: ChangesArgs) -> ToolResult:
    """Show what changed for a model: alias moves, audit records, jobs, served versions."""
    view = FleetView(ctx)
    if args.name not in view.models:
        return ToolResult.fail(f"unknown model {args.name!r}; call list_models for names")
    return ToolResult.ok(as_json(facts.recent_changes(view, args.name, args.days)))


class NoArgs(BaseModel):
    """No arguments."""


@tool()
def open_data_incidents(ctx: AssistantContext, args: NoArgs) -> ToolResult:
    """List open data incidents (upstream pipeline breaks) opened by remediation."""
    found = facts.open_data_incidents(FleetView(ctx))
    if not found:
        return ToolResult.empty("no open data incident")
    return ToolResult.ok(as_json(found))


@tool()
def pending_approvals(ctx: AssistantContext, args: NoArgs) -> ToolResult:
    """List changes waiting for a human approval (id, action, models, why)."""
    found = facts.pending_approvals(FleetView(ctx))
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
