"""Kueue queues and CronJobs a scenario declares: installed in its twin, read back for oracles.

A scenario's `queues` (flavors, cluster queues with cohorts and limits, local queues) and
`schedules` (CronJobs) replace the twin's own before any fault runs, so that the jobs a
`submit_job` fault adds go through the declared LocalQueues.
"""

from pathlib import Path

from tools.capacity.schedules import check_schedule
from tools.cluster.sim import SimCluster
from tools.domain import Environment
from tools.domain.queues import CronSchedule, QueueConfig
from tools.errors import ConfigError

ENV_ORDER = ("prod", "test", "dev")


def declare(cluster_db: Path, queues: QueueConfig | None, schedules: list[CronSchedule]) -> None:
    """Install the declared Kueue objects and CronJobs in the twin at `cluster_db`."""
    if queues is None and not schedules:
        return
    for s in schedules:
        check_schedule(s.schedule)
    twin = SimCluster(cluster_db)
    try:
        if queues is not None:
            known = {ns.name for ns in twin.namespaces()}
            unknown = sorted({q.namespace for q in queues.local_queues} - known)
            if unknown:
                raise ConfigError(f"queues: LocalQueue in unknown namespace(s) {unknown}")
            twin.set_queues(queues)
        if schedules:
            twin.set_schedules(schedules)
    finally:
        twin.close()


def queue_state(twin: SimCluster) -> tuple[dict[str, str], dict[str, str]]:
    """The ClusterQueues' specs and whom they serve.

    Returns:
        (name -> canonical JSON of the ClusterQueue, name -> the strictest env among the
        namespaces its LocalQueues are in: `prod`, `test`, `dev` or `unknown`).
    """
    config = twin.queues()
    envs: dict[str, Environment | None] = {ns.name: ns.env for ns in twin.namespaces()}
    specs = {cq.name: cq.model_dump_json() for cq in config.cluster_queues}
    serves: dict[str, str] = {}
    for cq in config.cluster_queues:
        fed = [envs.get(q.namespace) for q in config.local_queues if q.cluster_queue == cq.name]
        if any(e is None for e in fed):
            serves[cq.name] = "unknown"
        elif fed:
            serves[cq.name] = min((e.value for e in fed if e), key=ENV_ORDER.index)
    return specs, serves
