"""The capacity planner: plan, then apply the plan through the compliance gate.

The plan covers packing vs bound, scale-to-zero, right-sizing and job windows; the
simulated human decides what waits for approval.
"""

import time

from agents.capacity.apply import apply_plan
from agents.capacity.explain import explain
from agents.capacity.plan import AGENT, CapacityPlan, build_plan
from evals.adapters.base import AgentRun, AgentTask, with_usage
from evals.state import AgentOutput, JobState
from world.approvals import decide
from world.capacity import apply_port
from world.world import World

HUMAN = "eval-human"


def run(task: AgentTask) -> AgentRun:
    """Plan and apply on the trial's world."""
    start = time.perf_counter()
    with World(task.settings) as world:
        plan = build_plan(world.cluster, world.capacity, AGENT)
        plan = explain(plan, world.llm())
        outcomes = apply_plan(plan, apply_port(world))
        waiting = [o for o in outcomes if o.status == "waiting_approval" and o.approval_id]
        if waiting and task.human != "none":
            for o in waiting:
                assert o.approval_id is not None
                decide(world, o.approval_id, HUMAN, task.human == "approve", None)
    output = AgentOutput(plan=plan_numbers(plan), scheduled=scheduled(plan))
    return with_usage(task, output, start, actions=len(plan.actions))


def plan_numbers(plan: CapacityPlan) -> dict[str, float]:
    """Totals and per-pool numbers oracles can bound (`plan_gpus` vs `lower_bound`, ...)."""
    numbers: dict[str, float] = {
        "plan_gpus": sum(p.plan_gpus for p in plan.packing),
        "lower_bound": sum(p.lower_bound for p in plan.packing),
        "current_gpus": sum(p.current_gpus for p in plan.packing),
        "first_fit_gpus": sum(p.first_fit_gpus for p in plan.packing),
        "scale_to_zero": len(plan.scale_to_zero),
        "right_sizing": len(plan.right_sizing),
        "unplaceable": len(plan.unplaceable),
        "saving_cost_per_day": plan.savings.cost_per_day,
        "saving_g_co2e_jobs": plan.savings.g_co2e_jobs,
    }
    for p in plan.packing:
        numbers[f"{p.pool}.plan_gpus"] = p.plan_gpus
        numbers[f"{p.pool}.lower_bound"] = p.lower_bound
        numbers[f"{p.pool}.current_gpus"] = p.current_gpus
    return numbers


def scheduled(plan: CapacityPlan) -> list[JobState]:
    """Jobs the plan places in a window (start = the window chosen)."""
    return [
        JobState(
            id=j.job_id,
            key=j.job_id,
            kind="retrain",
            namespace=j.namespace,
            model=j.model,
            status="scheduled",
            submitted_at=j.start,
            started_at=j.start,
        )
        for j in plan.jobs
        if j.start is not None
    ]
