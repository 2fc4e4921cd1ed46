"""Tools over the model registry."""

from pydantic import BaseModel, Field

from tools.catalog.context import ToolContext
from tools.domain import AiActRisk, Environment
from tools.registry.tag_contract import env_label, risk_label
from tools.runtime.envelope import ToolResult
from tools.runtime.spec import tool


class ListModelsArgs(BaseModel):
    """Filters for list_models."""

    env: Environment | None = Field(
        default=None, description="Only models serving in this environment."
    )
    owner: str | None = Field(default=None, description="Only models of this team.")
    ai_act_risk: AiActRisk | None = Field(
        default=None, description="Only models of this risk class."
    )


@tool()
def list_models(ctx: ToolContext, args: ListModelsArgs) -> ToolResult:
    """List registered models with owner, environment, risk class and aliases.

    Use it to find model names before asking about one model.
    """
    rows = [
        {
            "name": m.name,
            "owner": m.owner,
            "env": env_label(m.env),
            "ai_act_risk": risk_label(m.ai_act_risk),
            "pipeline": m.pipeline,
            "aliases": dict(m.aliases),
        }
        for m in ctx.registry.list_models()
        if (args.env is None or m.env is args.env)
        and (args.owner is None or m.owner == args.owner)
        and (args.ai_act_risk is None or m.ai_act_risk is args.ai_act_risk)
    ]
    return ToolResult.ok(rows) if rows else ToolResult.empty("no model matches these filters")


class ModelArgs(BaseModel):
    """One model."""

    name: str = Field(description="Registered model name, e.g. churn-0001.")


@tool()
def get_model(ctx: ToolContext, args: ModelArgs) -> ToolResult:
    """Show one model with every version: metrics, lineage, aliases, risk and change plan."""
    model = ctx.registry.get_model(args.name)
    versions = ctx.registry.list_versions(args.name)
    return ToolResult.ok(
        {
            "model": model.model_dump(mode="json"),
            "versions": [v.model_dump(mode="json", exclude={"tags"}) for v in versions],
        }
    )


@tool()
def alias_history(ctx: ToolContext, args: ModelArgs) -> ToolResult:
    """Show who moved a model's aliases (champion, challenger), when, and why."""
    changes = ctx.registry.alias_history(args.name)
    if not changes:
        return ToolResult.empty(f"no alias changes recorded for {args.name}")
    return ToolResult.ok([c.model_dump(mode="json") for c in changes])


class SetAliasArgs(BaseModel):
    """Move an alias."""

    name: str = Field(description="Registered model name.")
    alias: str = Field(description="Alias to move: champion or challenger.")
    version: int = Field(ge=1, description="Version the alias should point to.")


@tool(mutating=True)
def set_model_alias(ctx: ToolContext, args: SetAliasArgs) -> ToolResult:
    """Point an alias (champion/challenger) at a version: promotes or rolls back a model.

    This changes what production serves; it only runs after the compliance gate and approval.
    """
    change = ctx.registry.set_alias(
        args.name, args.alias, args.version, actor="agent", reason="tool call"
    )
    return ToolResult.ok(change.model_dump(mode="json"))
