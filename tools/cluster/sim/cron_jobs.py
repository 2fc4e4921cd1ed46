"""CronJobs in the twin: each run of a non-suspended CronJob with a GPU request creates jobs.

As the CronJob controller does, a run creates a Job at its scheduled time (one per pod of
the template, each holding one slot of the requested kind); the jobs queue and are admitted
like any other (through the namespace's LocalQueue when it has one). Runs are keyed by
CronJob and time, so a run is created once.
"""

from datetime import datetime, timedelta

from tools.cluster.cron import runs_between
from tools.cluster.sim.store import Tx
from tools.domain import Job, JobSpec, JobStatus

TICK = timedelta(microseconds=1)


def fire_times(tx: Tx, until: datetime) -> list[datetime]:
    """Times in (now, until] at which some CronJob starts a run."""
    now = tx.now()
    times = {
        at
        for s in tx.schedules()
        if s.gpu is not None and s.gpus > 0
        for at in runs_between(s, now + TICK, until + TICK)
    }
    return sorted(times)


def start_due_runs(tx: Tx, previous: datetime) -> list[Job]:
    """Create the jobs of every CronJob run scheduled in (previous, now]."""
    now = tx.now()
    created = []
    for s in tx.schedules():
        if s.gpu is None or s.gpus <= 0:
            continue
        for at in runs_between(s, previous + TICK, now + TICK):
            for pod in range(s.gpus):
                key = f"cron:{s.namespace}/{s.name}:{at.isoformat()}:{pod}"
                if tx.job_by_key(key) is not None:
                    continue
                job = Job(
                    id=f"job-{tx.next_job_number():05d}",
                    spec=JobSpec(
                        namespace=s.namespace,
                        kind="scheduled",
                        model=s.name,
                        gpu=s.gpu,
                        duration_s=s.duration_s,
                        idempotency_key=key,
                        tolerations=list(s.tolerations),
                        priority=s.priority,
                    ),
                    status=JobStatus.QUEUED,
                    submitted_at=at,
                )
                tx.save_job(job)
                created.append(job)
    return created
