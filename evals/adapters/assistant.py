"""The ops assistant: one chat question in, an answer (text + exact entities) out.

The assistant never changes anything itself: change requests come back as proposals,
which this adapter records but never executes, so any mutation in the world is a failure.
"""

import time

from agents.assistant import answer
from evals.adapters.base import AgentRun, AgentTask, with_usage
from evals.state import AgentOutput, Answer
from world.assistant import assistant_port
from world.world import World


def run(task: AgentTask) -> AgentRun:
    """Ask the trial's world the scenario's question at the task's tier."""
    start = time.perf_counter()
    assert task.ask is not None, "assistant scenarios carry a question"
    with World(task.settings) as world:
        ctx = assistant_port(world, "lotsen-eval")
        tier = task.tier.name if task.tier else "0"
        previous = None
        for question in task.earlier:
            previous = answer(question, ctx, tier=tier, previous=previous)
        reply = answer(task.ask, ctx, tier=tier, previous=previous)
    output = AgentOutput(
        answer=Answer(
            text=reply.text,
            entities=reply.entities,
            proposals=[p.model_dump_json(exclude_none=True) for p in reply.proposals],
        )
    )
    run = with_usage(task, output, start, actions=reply.steps)
    return run.model_copy(update={"tier": reply.tier})
