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
                request = o.approval_id if o.status == "waiting_approval" else None
                first = True
                # a run may ask twice: its plan (e.g. a retrain), then a winner's promotion
                while request is not None:
                    if task.human == "approve_training" and not first:
                        break  # approves what it was asked first, leaves the promotion
                    approved = task.human != "reject"
                    done = decide(world, request, HUMAN, approved, None)
                    actions += 1
                    first = False
                    request = _next_request(world, o.incident_id, request, done.status)
    output = AgentOutput(
        incidents=[
            ReportedIncident(kind=i.kind, models=i.models, features=i.features, pipeline=i.pipeline)
            for i in incidents
        ]
    )
    return with_usage(task, output, start, actions)


def _next_request(world: World, incident_id: str, decided: str, status: str) -> str | None:
    """The run's next pending request after one was decided (its promotion), if it waits."""
    if status != "waiting_approval":
        return None
    return next(
        (
            r.id
            for r in world.approvals.requests(world.clock(), "pending")
            if r.incident_id == incident_id and r.id != decided
        ),
        None,
    )
