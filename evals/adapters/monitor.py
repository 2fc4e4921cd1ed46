"""The monitor: a fleet scan of the newest window, grouped into incidents."""

import time

from evals.adapters.base import AgentRun, AgentTask, with_usage
from evals.state import AgentOutput, ReportedIncident
from lotsen.monitoring import scan_fleet


def run(task: AgentTask) -> AgentRun:
    """Scan the trial's world; the incidents are the monitor's output."""
    start = time.perf_counter()
    report = scan_fleet(task.settings)
    output = AgentOutput(
        incidents=[
            ReportedIncident(kind=i.kind, models=i.models, features=i.features, pipeline=i.pipeline)
            for i in report.incidents
        ]
    )
    return with_usage(task, output, start, actions=1)
