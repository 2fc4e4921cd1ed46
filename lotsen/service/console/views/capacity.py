"""The capacity planner's current plan, as the GPU pool page shows it (nothing is applied)."""

from pydantic import BaseModel

from world.world import World

MAX_ACTIONS = 15


class PackingRow(BaseModel):
    """One pool: GPUs its model servers use now, in the plan, and at the lower bound."""

    pool: str
    current_gpus: int
    plan_gpus: int
    lower_bound: int
    method: str


class ActionRow(BaseModel):
    """One proposed action and what it saves."""

    kind: str
    target: str
    saving: str
    detail: str


class CapacityView(BaseModel):
    """The plan's headline: packing per pool, savings per day, the largest actions."""

    at: str
    packing: list[PackingRow]
    cost_per_day: float
    gpu_equivalents: float
    actions: int
    scale_to_zero: int
    top: list[ActionRow]


def capacity_view(world: World) -> CapacityView:
    """Plan capacity now (tier 0, read-only) and summarise it."""
    from agents.capacity.plan import build_plan

    plan = build_plan(world.cluster, world.capacity)
    top = [
        ActionRow(
            kind=p.action.kind.value,
            target=p.action.model
            or "/".join(x for x in (p.action.namespace, p.action.deployment) if x),
            saving=p.saving,
            detail=p.action.detail,
        )
        for p in plan.actions[:MAX_ACTIONS]
    ]
    return CapacityView(
        at=f"{plan.at:%Y-%m-%d %H:%M} UTC",
        packing=[
            PackingRow(
                pool=k.pool,
                current_gpus=k.current_gpus,
                plan_gpus=k.plan_gpus,
                lower_bound=k.lower_bound,
                method=k.method,
            )
            for k in plan.packing
        ],
        cost_per_day=plan.savings.cost_per_day,
        gpu_equivalents=plan.savings.gpu_equivalents,
        actions=len(plan.actions),
        scale_to_zero=len(plan.scale_to_zero),
        top=top,
    )
