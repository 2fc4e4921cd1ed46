"""The capacity planner's port on the world, and the saved plan."""

from pathlib import Path

from pydantic import ValidationError

from agents.capacity.apply import ApplyWorld
from agents.capacity.plan import CapacityPlan
from tools.errors import NotFoundError, StateError
from world.world import World

PLAN_FILE = "capacity_plan.json"


def plan_path(world: World) -> Path:
    """Where `capacity plan` saves the plan for `capacity apply`."""
    return world.files.root / PLAN_FILE


def save_plan(world: World, plan: CapacityPlan) -> Path:
    """Write the plan atomically."""
    path = plan_path(world)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(plan.model_dump_json(indent=2), encoding="utf-8")
    tmp.replace(path)
    return path


def load_plan(world: World) -> CapacityPlan:
    """The plan saved by the last `capacity plan`."""
    path = plan_path(world)
    if not path.exists():
        raise NotFoundError("no capacity plan yet; run `lotsen capacity plan` first")
    try:
        return CapacityPlan.model_validate_json(path.read_text(encoding="utf-8"))
    except ValidationError as exc:
        raise StateError(
            f"{path} is not a capacity plan ({exc.error_count()} errors); run "
            "`lotsen capacity plan` again"
        ) from None


def apply_port(world: World) -> ApplyWorld:
    """What applying a plan may act on, taken from the world."""
    return ApplyWorld(
        cluster=world.cluster,
        audit=world.audit,
        approvals=world.approvals,
        gate=world.gate(),
        clock=world.clock,
        approval_ttl=world.approval_ttl,
    )
