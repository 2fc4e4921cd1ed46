"""Explaining a capacity plan: tier-0 text always; an LLM tier may phrase it better.

The LLM only writes the explanation (a validated `CapacityExplanation`); it never changes
the plan's actions, which come from the deterministic core.
"""

from pydantic import BaseModel, Field

from agents.capacity.plan import CapacityPlan
from llm.call import LlmContext
from llm.structured import decide, schema_json
from prompts import render_prompt


class CapacityExplanation(BaseModel):
    """What the LLM may answer."""

    summary: str = Field(max_length=1500, description="Three to six sentences, plain words.")
    highlights: list[str] = Field(
        default_factory=list, max_length=6, description="Short bullet points, most important first."
    )


def evidence(plan: CapacityPlan) -> str:
    """The plan's figures as compact text (what the tier-0 text and the LLM both use)."""
    lines = [f"Plan {plan.id} at {plan.at:%Y-%m-%d %H:%M} UTC (cluster clock)."]
    for p in plan.packing:
        lines.append(
            f"Pool {p.pool} ({p.env}, {p.gpu_type} {p.sharing}): {p.replicas} replicas use "
            f"{p.current_gpus} GPUs now; the packing plan needs {p.plan_gpus} "
            f"(lower bound {p.lower_bound}, first-fit {p.first_fit_gpus}, {p.gpus_ready} ready)."
        )
        if p.overcommitted_gpus:
            lines.append(
                f"  {p.overcommitted_gpus} of its time-sliced GPUs now hold replicas needing more "
                "memory than the GPU has (time-slicing does not isolate memory); the plan fixes it."
            )
    lines += [f"Does not fit: {u}" for u in plan.unplaceable]
    s = plan.savings
    lines.append(
        f"{len(plan.scale_to_zero)} idle deployment(s) to scale to zero, "
        f"{len(plan.right_sizing)} to right-size, {len(plan.consolidation.moves)} replica "
        f"move(s) freeing {sum(plan.consolidation.gpus_freed.values())} GPU(s), "
        f"{sum(1 for a in plan.actions if a.job_id)} job(s) moved to cleaner windows."
    )
    lines.append(
        f"Savings if all are applied: {s.gpu_equivalents:.2f} GPU-equivalents, "
        f"{s.cost_per_day:.2f} per day, {s.g_co2e_jobs / 1000:.2f} kg CO2e on queued jobs."
    )
    prod = sum(1 for a in plan.actions if a.env is not None and a.env.value == "prod")
    lines.append(
        f"{len(plan.actions)} action(s), {prod} in prod (prod changes need a human approval)."
    )
    return "\n".join(lines)


def tier0_explanation(plan: CapacityPlan) -> CapacityExplanation:
    """The deterministic explanation."""
    text = evidence(plan)
    return CapacityExplanation(summary=text[:1500], highlights=[])


def explain(plan: CapacityPlan, llm: LlmContext | None) -> CapacityPlan:
    """The plan with its explanation filled in (tier 0 without an LLM or when it fails)."""
    prompt = render_prompt(
        "capacity_explanation",
        evidence=evidence(plan),
        schema_json=schema_json(CapacityExplanation),
    )
    decision = decide(
        CapacityExplanation,
        prompt,
        "Explain this capacity plan.",
        llm,
        lambda: tier0_explanation(plan),
        agent="capacity",
        task="explain_plan",
    )
    text = decision.value.summary
    if decision.value.highlights:
        text += "\n" + "\n".join(f"- {h}" for h in decision.value.highlights)
    return plan.model_copy(
        update={
            "explanation": text,
            "explained_by": decision.tier,
            "prompt_sha256": decision.prompt_sha256,
        }
    )
