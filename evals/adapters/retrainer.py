"""The retrainer: scan, then the remediation workflow for each incident (at the task's tier).

The simulated human then approves or rejects whatever waits for approval (four eyes: the
human is not the proposer), and the workflow continues, as `lotsen approvals` would.
"""

import time

from agents.remediation.runner import remediate
from evals.adapters.base import AgentRun, AgentTask, with_usage
from evals.state import AgentOutput, ReportedIncident
from world.approvals import decide
from world.monitoring import scan_fleet
from world.remediation import open_workflow
from world.world import World

HUMAN = "eval-human"


def run(task: AgentTask) -> AgentRun:
    """Scan and remediate the trial's world."""
    start = time.perf_counter()
    with World(task.settings) as world:
        incidents = scan_fleet(world).incidents
        with open_workflow(world, "lotsen-eval") as wf:
            outcomes = remediate(incidents, wf.world, wf.graph, wf.proposer)
        actions = len(outcomes)
        if task.human != "none":
            for o in outcomes:
                if o.status == "waiting_approval" and o.approval_id is not None:
                    decide(world, o.approval_id, HUMAN, task.human == "approve", None)
                    actions += 1
    output = AgentOutput(
        incidents=[
            ReportedIncident(kind=i.kind, models=i.models, features=i.features, pipeline=i.pipeline)
            for i in incidents
        ]
    )
    return with_usage(task, output, start, actions)
