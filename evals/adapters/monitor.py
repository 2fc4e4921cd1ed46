"""The monitor: a fleet scan of the newest window, grouped into incidents."""

import time

from evals.adapters.base import AgentRun, AgentTask, with_usage
from evals.state import AgentOutput, ReportedIncident
from world.monitoring import scan_fleet
from world.world import World


def run(task: AgentTask) -> AgentRun:
    """Scan the trial's world; the incidents are the monitor's output."""
    start = time.perf_counter()
    with World(task.settings) as world:
        report = scan_fleet(world)
    output = AgentOutput(
        incidents=[
            ReportedIncident(kind=i.kind, models=i.models, features=i.features, pipeline=i.pipeline)
            for i in report.incidents
        ]
    )
    return with_usage(task, output, start, actions=1)
