"""Read-only tools the LLM path adds to the catalogue's (same facts as the tier-0 intents)."""

from pydantic import BaseModel, Field

from agents.assistant import drift_intents, facts, history, ops_facts
from agents.assistant.context import AssistantToolContext, FleetView
from agents.assistant.intent import as_json
from tools.domain import Environment
from tools.errors import NotFoundError
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


class FleetChangesArgs(BaseModel):
    """Filters for fleet_changes."""

    since: str = Field(
        default="last 7 days",
        description="Time range in words: 'last 24 hours', 'since Monday', 'yesterday', "
        "'this week', 'last 3 days' (by the world's clock).",
    )
    env: Environment | None = Field(default=None, description="Only models of this environment.")
    model: str | None = Field(default=None, description="Only this model.")
    kind: history.ChangeKind | None = Field(default=None, description="Only this kind of change.")


@tool()
def fleet_changes(tool_ctx: AssistantToolContext, args: FleetChangesArgs) -> ToolResult:
    """List fleet changes in a time range (promotions, rollbacks, actions), with who and why.

    Covers alias moves, executed actions, approvals and incident decisions.
    """
    ctx = tool_ctx.world
    view = FleetView(ctx)
    span = history.time_range(args.since.lower(), ctx.clock(), default_days=7)
    found = history.fleet_changes(
        view,
        span.since,
        env=args.env,
        models=[args.model] if args.model else None,
        kinds={args.kind} if args.kind else None,
    )
    if not found:
        return ToolResult.empty(f"no change recorded {span.label}")
    return ToolResult.ok(as_json({"range": span.label, "changes": found[:50]}))


@tool()
def open_incidents(tool_ctx: AssistantToolContext, args: NoArgs) -> ToolResult:
    """List open incidents: kind, models, why (probable cause), status and what was done."""
    found = drift_intents.incident_views(FleetView(tool_ctx.world))
    if not found:
        return ToolResult.empty("no open incident")
    return ToolResult.ok(as_json(found))


class ApprovalArgs(BaseModel):
    """One approval request."""

    request_id: str = Field(description="Approval request id, e.g. apr-1a2b3c4d5e.")


@tool()
def approval_status(tool_ctx: AssistantToolContext, args: ApprovalArgs) -> ToolResult:
    """Show one approval request: status, action, models, the gate's reasons, proposer, expiry."""
    queue = tool_ctx.world.approvals
    if queue is None:
        return ToolResult.fail(f"no approval request {args.request_id!r}: none was ever requested")
    try:
        request = queue.get(args.request_id)
    except NotFoundError as exc:
        return ToolResult.fail(f"{exc}; call pending_approvals for ids")
    return ToolResult.ok(
        as_json(request.model_dump(mode="json", exclude={"handle", "action_sha256"}))
    )


ASSISTANT_TOOLS: tuple[ToolSpec, ...] = (
    pipeline_models,
    idle_deployments,
    recent_changes,
    fleet_changes,
    open_data_incidents,
    open_incidents,
    pending_approvals,
    approval_status,
)
