"""The retrainer: scan, then the remediation workflow for each incident (at the task's tier).

The simulated human then approves or rejects whatever waits for approval (four eyes: the
human is not the proposer), and the workflow continues, as `lotsen approvals` would.
"""

import time

from agents.remediation.runner import decide_approval, remediate
from evals.adapters.base import AgentRun, AgentTask, with_usage
from evals.state import AgentOutput, ReportedIncident
from lotsen.monitoring import scan_fleet
from lotsen.remediation import open_workflow

HUMAN = "eval-human"


def run(task: AgentTask) -> AgentRun:
    """Scan and remediate the trial's world."""
    start = time.perf_counter()
    incidents = scan_fleet(task.settings).incidents
    actions = 0
    with open_workflow(task.settings, "lotsen-eval") as wf:
        outcomes = remediate(incidents, wf.world, wf.graph, wf.proposer)
        actions += len(outcomes)
        if task.human != "none":
            for o in outcomes:
                if o.status == "waiting_approval" and o.approval_id is not None:
                    decide_approval(
                        o.approval_id, HUMAN, task.human == "approve", None, wf.world, wf.graph
                    )
                    actions += 1
    output = AgentOutput(
        incidents=[
            ReportedIncident(kind=i.kind, models=i.models, features=i.features, pipeline=i.pipeline)
            for i in incidents
        ]
    )
    return with_usage(task, output, start, actions)
