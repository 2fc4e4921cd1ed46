"""Properties of Kueue admission in the twin, for any queue settings and submission order.

After every submission and clock step: no ClusterQueue holds more than its nominal quota
plus its borrowingLimit; a cohort never holds more than its members' nominal quotas; the
shared part (use beyond each member's guaranteed nominal - lendingLimit) never exceeds what
the members lend; a job waits only when its queue has no quota for it.
"""

import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.kueue_twins import FLAVOR, cq, kueue_twin, queues, submit
from tools.cluster.queueing.quota import QuotaState, holders
from tools.cluster.sim import SimCluster
from tools.domain import JobStatus
from tools.domain.queues import Preemption, ReclaimPolicy, WithinQueuePolicy

EPS = 1e-9
FR = (FLAVOR, "nvidia.com/gpu")

limits = st.one_of(st.none(), st.integers(0, 4))
queue_settings = st.tuples(
    st.integers(0, 6),  # nominal
    limits,  # borrowing limit
    limits,  # lending limit (capped at nominal below)
    st.sampled_from(list(ReclaimPolicy)),
    st.sampled_from(list(WithinQueuePolicy)),
)
steps = st.lists(
    st.tuples(st.sampled_from("abc"), st.integers(0, 3), st.integers(0, 3), st.integers(1, 4)),
    min_size=1,
    max_size=12,
)


def _check(twin: SimCluster) -> None:
    config = twin.queues()
    state = QuotaState(config, holders(twin.jobs()))
    total_used = total_nominal = shared = lendable = 0.0
    for q in config.cluster_queues:
        quota = q.quota(*FR)
        assert quota is not None
        used = state.used(q.name, FR)
        cap = quota.nominal + (quota.borrowing_limit if quota.borrowing_limit is not None else 1e9)
        assert used <= cap + EPS, f"{q.name} holds {used} > {cap}"
        total_used, total_nominal = total_used + used, total_nominal + quota.nominal
        shared += max(used - quota.guaranteed(), 0.0)
        lendable += quota.lendable()
    assert total_used <= total_nominal + EPS
    assert shared <= lendable + EPS
    for job in twin.jobs():
        if job.status is JobStatus.QUEUED and job.reason.startswith("quota"):
            lq = config.local_queue(job.spec.namespace, None)
            assert lq is not None
            target = config.cluster_queue(lq.cluster_queue)
            assert target is not None and not state.fits(target, FR, 1.0)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(settings_=st.lists(queue_settings, min_size=3, max_size=3), plan=steps)
def test_admission_never_breaks_quota(
    settings_: list[tuple[int, int | None, int | None, ReclaimPolicy, WithinQueuePolicy]],
    plan: list[tuple[str, int, int, int]],
) -> None:
    cluster_queues = [
        cq(
            f"team-{t}-cq",
            nominal,
            borrowing_limit=borrow,
            lending_limit=None if lend is None else min(lend, nominal),
            preemption=Preemption(reclaim_within_cohort=reclaim, within_cluster_queue=within),
        )
        for t, (nominal, borrow, lend, reclaim, within) in zip("abc", settings_, strict=True)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        twin = kueue_twin(Path(tmp) / "t.db", queues(*cluster_queues))
        try:
            for team, count, priority, hours in plan:
                if count:
                    submit(twin, f"team-{team}", count, priority=priority, hours=hours)
                _check(twin)
                twin.advance(timedelta(hours=1))
                _check(twin)
        finally:
            twin.close()
