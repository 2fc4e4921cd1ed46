"""The compliance reviewer: a posture scan of the whole platform, or a gate review.

With a proposed action the gate reviews it (allow / needs_approval / deny, with the policy
ids behind it); otherwise the scan's failing findings are the output.
"""

import time

from evals.adapters.base import AgentRun, AgentTask, with_usage
from evals.state import AgentOutput, ReportedFinding
from world import compliance
from world.world import World


def run(task: AgentTask) -> AgentRun:
    """Scan the trial's world (or review the proposed action)."""
    start = time.perf_counter()
    with World(task.settings) as world:
        return _run(task, world, start)


def _run(task: AgentTask, world: World, start: float) -> AgentRun:
    if task.propose is not None:
        decision = world.gate().review(task.propose)
        subject = task.propose.model or task.propose.namespace or ""
        output = AgentOutput(
            verdict=decision.verdict,
            findings=[
                ReportedFinding(policy_id=p, subject=subject, status="fail", message=r)
                for p, r in zip(decision.policies, decision.reasons, strict=False)
            ],
        )
        return with_usage(task, output, start, actions=1)
    report = compliance.scan(world)
    output = AgentOutput(
        findings=[
            ReportedFinding(
                policy_id=f.policy_id, subject=f.subject, status=f.status, message=f.message
            )
            for f in report.findings
            if f.status != "pass"
        ]
    )
    return with_usage(task, output, start, actions=1)
