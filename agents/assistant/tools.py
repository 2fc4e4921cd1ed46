"""Read-only tools the LLM path adds to the catalogue's (same facts as the tier-0 intents)."""

from pydantic import BaseModel, Field

from agents.assistant import facts, ops_facts
from agents.assistant.context import AssistantToolContext, FleetView
from agents.assistant.gatecheck import review
from agents.assistant.intent import as_json
from agents.compliance.action import ActionKind, ProposedAction
from agents.compliance.scan import scan_compliance
from tools.domain import Environment
from tools.registry import CHAMPION
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

    days: int = Field(
        default=7, ge=0, le=365, description="No request for at least this many days."
    )
    env: Environment | None = Field(default=None, description="Only this environment.")


@tool()
def idle_deployments(tool_ctx: AssistantToolContext, args: IdleArgs) -> ToolResult:
    """List deployments with no traffic for N days (scale-to-zero candidates)."""
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


class ComplianceArgs(BaseModel):
    """Filters for compliance_findings."""

    subject: str | None = Field(
        default=None, description="A model or namespace name; the whole platform if omitted."
    )
    policy_id: str | None = Field(default=None, description="Only this policy, e.g. AIA-01.")


@tool()
def compliance_findings(tool_ctx: AssistantToolContext, args: ComplianceArgs) -> ToolResult:
    """List failing compliance checks (policy id, severity, subject, message), worst first."""
    ctx = tool_ctx.world
    view = FleetView(ctx)
    only = None
    if args.subject is not None:
        only = {args.subject} | {
            f"{d.namespace}/{d.name}" for d in view.deployments if d.model == args.subject
        }
    policies = None if ctx.policies is None else list(ctx.policies)
    report = scan_compliance(ctx.registry, ctx.cluster, policies=policies, only=only)
    failing = [
        {
            "policy_id": f.policy_id,
            "severity": f.severity.value,
            "subject": f.subject,
            "status": f.status,
            "message": f.message,
        }
        for f in report.failures()
        if args.policy_id in (None, f.policy_id)
    ]
    if failing:
        return ToolResult.ok(as_json(failing))
    return ToolResult.empty(f"no failing check among {len(report.findings)} checked")


class PromotionArgs(BaseModel):
    """A promotion to review."""

    model: str = Field(description="Registered model name.")
    version: int = Field(ge=1, description="Version that would become champion.")


@tool()
def review_promotion(tool_ctx: AssistantToolContext, args: PromotionArgs) -> ToolResult:
    """Ask the compliance gate whether promoting a version to champion is allowed.

    Answers allow, needs_approval or deny with the policies behind it. A review only:
    nothing is promoted.
    """
    ctx = tool_ctx.world
    action = ProposedAction(
        kind=ActionKind.SET_ALIAS,
        proposer=ctx.user,
        model=args.model,
        alias=CHAMPION,
        version=args.version,
        detail=f"promote {args.model} v{args.version} to champion",
    )
    [verdict] = review(ctx, [action])
    return ToolResult.ok(as_json(verdict))


ASSISTANT_TOOLS: tuple[ToolSpec, ...] = (
    compliance_findings,
    review_promotion,
    pipeline_models,
    idle_deployments,
    recent_changes,
    open_data_incidents,
    pending_approvals,
)
