"""Read-only tools of the compliance reviewer: findings, and what the gate would say."""

from pydantic import BaseModel, Field

from tools.catalog.context import ToolContext
from tools.policy.action import ActionKind, ProposedAction
from tools.policy.evaluate import scan_compliance
from tools.runtime.envelope import ToolResult
from tools.runtime.spec import tool


class FindingsArgs(BaseModel):
    """Which compliance findings to return."""

    subject: str | None = Field(
        default=None,
        description="Only this model (with its deployments), namespace, namespace/deployment "
        "or pool; the whole platform if omitted.",
    )
    policy_id: str | None = Field(default=None, description="Only this policy, e.g. AIA-04.")
    include_passes: bool = Field(default=False, description="Also return passed checks.")


@tool()
def compliance_findings(ctx: ToolContext, args: FindingsArgs) -> ToolResult:
    """Check the compliance policies (dev/test/prod segregation, EU AI Act duties, access reviews) and return failing findings, worst first."""  # noqa: E501
    report = scan_compliance(
        ctx.registry,
        ctx.cluster,
        policies=ctx.rules(),
        about=args.subject,
        now=ctx.now(),
    )
    found = report.findings if args.include_passes else report.failures()
    rows = [
        f.model_dump(mode="json")
        for f in found
        if args.policy_id is None or f.policy_id == args.policy_id
    ]
    if not rows:
        return ToolResult.empty(f"no failing check among {len(report.findings)} checked")
    return ToolResult.ok(rows)


class ReviewArgs(BaseModel):
    """An action to ask the compliance gate about."""

    kind: ActionKind = Field(description="The action: set_alias, rollback, retrain, scale, ...")
    model: str | None = Field(default=None, description="Model it concerns.")
    namespace: str | None = Field(default=None, description="Namespace it touches.")
    version: int | None = Field(default=None, description="Target version (set_alias).")
    alias: str | None = Field(default=None, description="Target alias (set_alias).")


@tool()
def review_action(ctx: ToolContext, args: ReviewArgs) -> ToolResult:
    """Ask the compliance gate whether an action would be allowed, need a human approval, or be denied, and why. Executes nothing."""  # noqa: E501
    decision = ctx.gate().review(
        ProposedAction(proposer="tool-call", **args.model_dump(exclude_none=True))
    )
    return ToolResult.ok(decision.model_dump(mode="json"))
