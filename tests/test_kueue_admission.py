"""The twin against Kueue's documented admission rules, one worked example per rule.

Sources: Kueue concepts "Cluster Queue" (nominal quota, cohort, borrowingLimit, preemption,
flavor order), KEP-1224 (lendingLimit), "Local Queue" (namespace -> LocalQueue ->
ClusterQueue). The docs count CPUs; these examples count whole GPUs the same way.
"""

from datetime import timedelta
from pathlib import Path

import pytest

from tests.support.kueue_twins import (
    FLAVOR,
    SPOT,
    cq,
    kueue_twin,
    queued,
    queues,
    running,
    submit,
)
from tests.support.twin_specs import START
from tools.cluster.sim import SimCluster
from tools.domain import JobStatus
from tools.domain.queues import (
    BorrowPolicy,
    BorrowWithinCohort,
    ClusterQueue,
    FlavorQuota,
    LocalQueue,
    Preemption,
    QueuePatch,
    ReclaimPolicy,
    WithinQueuePolicy,
)
from tools.errors import ConfigError, NotFoundError


def test_without_cohort_a_queue_admits_up_to_its_nominal_quota(tmp_path: Path) -> None:
    # "This ClusterQueue admits Workloads if and only if the sum of the requests is <= 9."
    twin = kueue_twin(tmp_path / "t.db", queues(cq("team-a-cq", 9, cohort=None)))
    submit(twin, "team-a", 10)
    assert (running(twin, "team-a"), queued(twin, "team-a")) == (9, 1)
    waiting = next(j for j in twin.jobs("team-a") if j.status is JobStatus.QUEUED)
    assert "ClusterQueue team-a-cq" in waiting.reason and "needs 1, 0 available" in waiting.reason
    admitted = next(j for j in twin.jobs("team-a") if j.status is JobStatus.RUNNING)
    assert admitted.admission is not None
    assert (admitted.admission.cluster_queue, admitted.admission.flavor) == ("team-a-cq", FLAVOR)


def test_in_a_cohort_a_queue_borrows_the_unused_nominal_quota_of_the_others(
    tmp_path: Path,
) -> None:
    # "If team-b-cq has no admitted Workloads, team-a-cq can admit up to 12+9=21."
    twin = kueue_twin(tmp_path / "t.db", queues(cq("team-a-cq", 9), cq("team-b-cq", 12)))
    submit(twin, "team-a", 22)
    assert (running(twin, "team-a"), queued(twin, "team-a")) == (21, 1)


def test_borrowing_limit_caps_what_a_queue_borrows(tmp_path: Path) -> None:
    # "Because we set borrowingLimit (1) in team-a-cq ... up to 9+1=10."
    twin = kueue_twin(
        tmp_path / "t.db", queues(cq("team-a-cq", 9, borrowing_limit=1), cq("team-b-cq", 12))
    )
    submit(twin, "team-a", 12)
    assert running(twin, "team-a") == 10
    # "If borrowingLimit is empty, team-b-cq can borrow 12+9."
    twin.close()
    other = kueue_twin(
        tmp_path / "u.db", queues(cq("team-a-cq", 9, borrowing_limit=1), cq("team-b-cq", 12))
    )
    submit(other, "team-b", 22)
    assert running(other, "team-b") == 21


def test_lending_limit_keeps_the_rest_of_nominal_quota_for_its_owner(tmp_path: Path) -> None:
    # KEP-1224: team-b lends at most 4 of its 12; nominal - lendingLimit = 8 stays its own.
    twin = kueue_twin(
        tmp_path / "t.db", queues(cq("team-a-cq", 9), cq("team-b-cq", 12, lending_limit=4))
    )
    submit(twin, "team-a", 20)
    assert running(twin, "team-a") == 13  # 9 + the 4 team-b lends
    submit(twin, "team-b", 9)
    assert running(twin, "team-b") == 8  # its guaranteed 8, no preemption needed
    assert queued(twin, "team-b") == 1  # the 9th would need the 4 team-a holds


def test_queues_under_nominal_quota_are_admitted_before_borrowers(tmp_path: Path) -> None:
    # "If team-b-cq has pending Workloads and team-a-cq has all its nominalQuota used,
    # Kueue will admit Workloads in team-b-cq before admitting new ones in team-a-cq."
    twin = kueue_twin(tmp_path / "t.db", queues(cq("team-a-cq", 9), cq("team-b-cq", 12)))
    release = START + timedelta(minutes=5)
    submit(twin, "team-a", 14, not_before=release)  # submitted first, 5 would borrow
    submit(twin, "team-b", 12, not_before=release)
    twin.advance(timedelta(minutes=10))
    assert (running(twin, "team-a"), running(twin, "team-b")) == (9, 12)


def _team_a_borrows_all_of_team_b(tmp_path: Path, reclaim: ReclaimPolicy) -> SimCluster:
    twin = kueue_twin(
        tmp_path / "t.db",
        queues(
            cq("team-a-cq", 9),
            cq("team-b-cq", 12, preemption=Preemption(reclaim_within_cohort=reclaim)),
        ),
    )
    submit(twin, "team-a", 21, priority=10)
    assert running(twin, "team-a") == 21
    return twin


def test_reclaim_never_leaves_the_lent_quota_with_the_borrower(tmp_path: Path) -> None:
    twin = _team_a_borrows_all_of_team_b(tmp_path, ReclaimPolicy.NEVER)
    (job_id,) = submit(twin, "team-b", priority=100)
    waiting = twin.job(job_id)
    assert waiting.status is JobStatus.QUEUED
    assert "team-a-cq borrows 12" in waiting.reason
    assert "reclaimWithinCohort=Never so it cannot reclaim" in waiting.reason
    assert running(twin, "team-a") == 21


def test_reclaim_any_preempts_the_borrowers_newest_workloads(tmp_path: Path) -> None:
    twin = _team_a_borrows_all_of_team_b(tmp_path, ReclaimPolicy.ANY)
    newest = [j.id for j in twin.jobs("team-a")][-3:]
    submit(twin, "team-b", 3, priority=0)  # lower priority than the borrower: Any ignores it
    assert (running(twin, "team-b"), running(twin, "team-a")) == (3, 18)
    evicted = [j for j in twin.jobs("team-a") if j.status is JobStatus.QUEUED]
    assert sorted(j.id for j in evicted) == sorted(newest)
    assert all(j.preempted == 1 and "reclaim in cohort" in j.eviction for j in evicted)


def test_reclaim_lower_priority_only_preempts_lower_priority_borrowers(tmp_path: Path) -> None:
    twin = _team_a_borrows_all_of_team_b(tmp_path, ReclaimPolicy.LOWER_PRIORITY)
    (low,) = submit(twin, "team-b", priority=5)
    assert twin.job(low).status is JobStatus.QUEUED and running(twin, "team-a") == 21
    (high,) = submit(twin, "team-b", priority=20)
    assert twin.job(high).status is JobStatus.RUNNING and running(twin, "team-a") == 20


def test_reclaim_only_for_a_workload_that_fits_in_nominal_quota(tmp_path: Path) -> None:
    # "Any: if the pending Workload fits within the nominal quota of its ClusterQueue".
    twin = kueue_twin(
        tmp_path / "t.db",
        queues(
            cq("team-a-cq", 9),
            cq("team-b-cq", 12, preemption=Preemption(reclaim_within_cohort=ReclaimPolicy.ANY)),
            cq("team-c-cq", 3),
        ),
    )
    submit(twin, "team-b", 12)
    submit(twin, "team-a", 12)  # borrows team-c's 3
    (extra,) = submit(twin, "team-b")  # team-b is at nominal: this one would borrow
    assert twin.job(extra).status is JobStatus.QUEUED
    assert running(twin, "team-a") == 12


def test_within_cluster_queue_lower_priority(tmp_path: Path) -> None:
    policy = Preemption(within_cluster_queue=WithinQueuePolicy.LOWER_PRIORITY)
    twin = kueue_twin(tmp_path / "t.db", queues(cq("team-a-cq", 2, cohort=None, preemption=policy)))
    low = submit(twin, "team-a", 2, priority=1)
    (same,) = submit(twin, "team-a", priority=1)
    assert twin.job(same).status is JobStatus.QUEUED
    (high,) = submit(twin, "team-a", priority=9)
    assert twin.job(high).status is JobStatus.RUNNING
    assert twin.job(low[1]).status is JobStatus.QUEUED  # the most recently admitted goes
    assert "within ClusterQueue" in twin.job(low[1]).eviction
    assert twin.job(low[0]).status is JobStatus.RUNNING


def test_within_cluster_queue_lower_or_newer_equal_priority(tmp_path: Path) -> None:
    release = START + timedelta(minutes=5)
    for policy, older_runs in (
        (WithinQueuePolicy.LOWER_OR_NEWER_EQUAL_PRIORITY, True),
        (WithinQueuePolicy.LOWER_PRIORITY, False),
    ):
        twin = kueue_twin(
            tmp_path / f"{policy}.db",
            queues(
                cq("team-a-cq", 1, cohort=None, preemption=Preemption(within_cluster_queue=policy))
            ),
        )
        (older,) = submit(twin, "team-a", not_before=release)  # created first, held
        twin.advance(timedelta(minutes=1))
        (newer,) = submit(twin, "team-a")  # same priority, created later, admitted now
        twin.advance(timedelta(minutes=10))
        assert (twin.job(older).status is JobStatus.RUNNING) is older_runs
        assert (twin.job(newer).status is JobStatus.RUNNING) is not older_runs
        twin.close()


def test_borrow_within_cohort_preempts_lower_priority_borrowers_up_to_a_threshold(
    tmp_path: Path,
) -> None:
    for threshold, preempts in ((5, True), (-1, False)):
        policy = Preemption(
            borrow_within_cohort=BorrowWithinCohort(
                policy=BorrowPolicy.LOWER_PRIORITY, max_priority_threshold=threshold
            )
        )
        twin = kueue_twin(
            tmp_path / f"b{threshold}.db",
            queues(cq("team-a-cq", 2, preemption=policy), cq("team-b-cq", 2), cq("team-c-cq", 0)),
        )
        submit(twin, "team-a", 2, priority=10)
        submit(twin, "team-c", 2, priority=0)  # borrows all of team-b's 2
        (borrower,) = submit(twin, "team-a", priority=10)  # must borrow: nothing unused
        assert (twin.job(borrower).status is JobStatus.RUNNING) is preempts
        assert running(twin, "team-c") == (1 if preempts else 2)
        twin.close()


def test_flavors_are_tried_in_the_queues_order(tmp_path: Path) -> None:
    two = ClusterQueue(
        name="team-a-cq",
        quotas=[FlavorQuota(flavor=FLAVOR, nominal=2), FlavorQuota(flavor=SPOT, nominal=3)],
    )
    twin = kueue_twin(tmp_path / "t.db", queues(two))
    submit(twin, "team-a", 6)
    flavors = [j.admission.flavor for j in twin.jobs("team-a") if j.admission]
    assert flavors == [FLAVOR, FLAVOR, SPOT, SPOT, SPOT]
    spot_nodes = {
        j.placement.node
        for j in twin.jobs("team-a")
        if j.placement and j.admission and j.admission.flavor == SPOT
    }
    assert spot_nodes == {"test-a100-spot-000"}


def test_jobs_go_through_the_namespaces_local_queue(tmp_path: Path) -> None:
    twin = kueue_twin(tmp_path / "t.db", queues(cq("team-a-cq", 1, cohort=None)))
    (wrong,) = submit(twin, "team-a", queue="nope")
    assert twin.job(wrong).reason == "LocalQueue team-a/nope doesn't exist"
    (right,) = submit(twin, "team-a", queue="default")
    assert twin.job(right).admission is not None
    assert twin.job(right).admission.local_queue == "default"  # type: ignore[union-attr]
    # team-x has no LocalQueue: Kueue does not govern it (no quota: it just runs)
    submit(twin, "team-x", 3)
    assert running(twin, "team-x") == 3
    assert all(j.admission is None for j in twin.jobs("team-x"))
    # team-b's LocalQueue points at a ClusterQueue that does not exist
    (orphan,) = submit(twin, "team-b")
    assert twin.job(orphan).reason == "ClusterQueue team-b-cq doesn't exist"


def test_finished_jobs_return_their_quota(tmp_path: Path) -> None:
    twin = kueue_twin(tmp_path / "t.db", queues(cq("team-a-cq", 1, cohort=None)))
    first, second = submit(twin, "team-a", 2, hours=1)
    assert twin.job(second).status is JobStatus.QUEUED
    twin.advance(timedelta(hours=1))
    assert twin.job(first).status is JobStatus.SUCCEEDED
    assert twin.job(second).status is JobStatus.RUNNING


def test_patching_reclaim_lets_the_waiting_job_reclaim_and_dry_run_changes_nothing(
    tmp_path: Path,
) -> None:
    twin = _team_a_borrows_all_of_team_b(tmp_path, ReclaimPolicy.NEVER)
    (job_id,) = submit(twin, "team-b")
    patch = QueuePatch(reclaim_within_cohort=ReclaimPolicy.ANY)
    preview = twin.patch_cluster_queue("team-b-cq", patch, dry_run=True)
    assert preview.preemption.reclaim_within_cohort is ReclaimPolicy.ANY
    stored = twin.queues().cluster_queue("team-b-cq")
    assert stored is not None and stored.preemption.reclaim_within_cohort is ReclaimPolicy.NEVER
    assert twin.job(job_id).status is JobStatus.QUEUED
    twin.patch_cluster_queue("team-b-cq", patch)
    assert twin.job(job_id).status is JobStatus.RUNNING
    assert running(twin, "team-a") == 20
    twin.reset()
    restored = twin.queues().cluster_queue("team-b-cq")
    assert restored is not None
    assert restored.preemption.reclaim_within_cohort is ReclaimPolicy.NEVER


def test_lowering_the_lending_limit_and_bad_patches(tmp_path: Path) -> None:
    twin = kueue_twin(tmp_path / "t.db", queues(cq("team-a-cq", 9), cq("team-b-cq", 12)))
    twin.patch_cluster_queue("team-b-cq", QueuePatch(flavor=FLAVOR, lending_limit=2))
    submit(twin, "team-a", 15)
    assert running(twin, "team-a") == 11
    with pytest.raises(ConfigError, match="exceeds the nominal quota 12"):
        twin.patch_cluster_queue("team-b-cq", QueuePatch(flavor=FLAVOR, lending_limit=13))
    with pytest.raises(ConfigError, match="no quota for flavor 'gold'"):
        twin.patch_cluster_queue("team-b-cq", QueuePatch(flavor="gold", lending_limit=1))
    with pytest.raises(NotFoundError, match="unknown ClusterQueue 'nope'"):
        twin.patch_cluster_queue("nope", QueuePatch(reclaim_within_cohort=ReclaimPolicy.ANY))


def test_a_cluster_queue_admits_only_namespaces_its_selector_matches(tmp_path: Path) -> None:
    only_a = cq("team-a-cq", 4, cohort=None).model_copy(
        update={"namespace_selector": {"owner": "team-a", "env": "test"}}
    )
    config = queues(only_a)
    config.local_queues = [
        LocalQueue(namespace="team-a", name="default", cluster_queue="team-a-cq"),
        LocalQueue(namespace="team-b", name="default", cluster_queue="team-a-cq"),
    ]
    twin = kueue_twin(tmp_path / "t.db", config)
    submit(twin, "team-a")
    (outsider,) = submit(twin, "team-b")
    assert running(twin, "team-a") == 1
    assert twin.job(outsider).reason == (
        "namespace team-b doesn't match ClusterQueue team-a-cq's selector"
    )
