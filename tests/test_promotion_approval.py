"""Separate approvals for separate risks: a prod retrain's approval approves training only.

The winning challenger's promotion is its own request (gate reasons, champion vs
challenger scores), raised only after the training job finished; approving it moves
@champion; a promotion whose job is still queued is refused.
"""

import dataclasses
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from langgraph.checkpoint.sqlite import SqliteSaver

from agents.remediation.executor import PROMOTION_MARGIN, RemediationWorld, promote
from agents.remediation.graph import build_graph, checkpoint_serde
from agents.remediation.promotion import PendingPromotion, promotion_key
from agents.remediation.runner import continue_with, remediate, resume, thread_id
from agents.remediation.trainers import Comparison, TrainerChoice
from agents.remediation.trainers.synthetic import SyntheticTrainer
from memory.approvals import ApprovalRequest, Decision
from tests.support.plans import plan
from tests.support.worlds import opened_copy, seed_with_telemetry
from tools.cluster.sim import SimCluster
from tools.domain import JobSpec, JobStatus, RegisteredModel
from tools.domain.ownership import training_namespace
from tools.drift.incidents import Incident
from tools.errors import ConflictError
from tools.fleet.layout import ENV_TAINT, TRAINING_REQUEST, TRAINING_TAINT
from tools.policy import tags
from tools.registry import CHALLENGER, CHAMPION
from world.monitoring import scan_fleet
from world.remediation import remediation_port
from world.world import World

pytestmark = pytest.mark.slow

CHAMPION_AUC = 0.80
LEAD = PROMOTION_MARGIN * 3


class FixedScorer:
    """The challenger scores LEAD above the champion on the same held-out rows."""

    def compare(self, model: RegisteredModel, champion: int | None, challenger: int) -> Comparison:
        """No scoring: the fixed scores."""
        return Comparison(
            metric="auc",
            champion=CHAMPION_AUC,
            challenger=CHAMPION_AUC + LEAD,
            holdout_rows=50,
            holdout="fixed",
        )


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return seed_with_telemetry(tmp_path_factory.mktemp("promotion-approval") / "data", 24, 5)


@pytest.fixture
def world(seeded: Path, tmp_path: Path) -> Iterator[World]:
    with opened_copy(seeded, tmp_path) as opened:
        yield opened


def port(world: World) -> RemediationWorld:
    """The synthetic trainer's job on the twin (waited for on its clock), fixed scores."""
    cluster = world.cluster
    assert isinstance(cluster, SimCluster)
    choice = TrainerChoice(
        SyntheticTrainer(world.registry, cluster, cluster.advance), FixedScorer()
    )
    return dataclasses.replace(remediation_port(world), trainers=lambda _: choice)


@pytest.fixture
def graph(world: World, tmp_path: Path) -> Iterator[tuple[RemediationWorld, object]]:
    conn = sqlite3.connect(tmp_path / "checkpoints.db", check_same_thread=False)
    try:
        saver = SqliteSaver(conn, serde=checkpoint_serde())
        saver.setup()
        w = port(world)
        yield w, build_graph(w, None, "bob", saver)
    finally:
        conn.close()


def prod_retrain(world: World) -> Incident:
    """The seeded drift-with-drop incident, its models made prod and high-risk."""
    incident = next(
        i for i in scan_fleet(world).incidents if i.kind == "drift_with_performance_drop"
    )
    for name in incident.models:
        world.registry.set_model_tag(name, "env", "prod")
        world.registry.set_model_tag(name, "ai_act_risk", "high")
    return incident.model_copy(update={"models": incident.models[:1]})


def decide(w: RemediationWorld, graph: object, request: ApprovalRequest, by: str, ok: bool) -> str:
    """What `lotsen approvals approve|reject` does; the run's status after it."""
    decided = w.approvals.decide(request.id, by, ok, w.clock(), None)
    decision = decided.decision()
    assert decision is not None
    return str(continue_with(decision, request.handle, w, graph).status)


def pending(w: RemediationWorld) -> list[ApprovalRequest]:
    return [r for r in w.approvals.requests(w.clock()) if r.status == "pending"]


def test_approving_a_retrain_trains_only_and_the_promotion_is_its_own_request(
    world: World, graph: tuple[RemediationWorld, object]
) -> None:
    w, g = graph
    incident = prod_retrain(world)
    model = incident.models[0]
    champion = w.registry.get_model(model).aliases[CHAMPION]
    remediate([incident], w, g, "bob")
    [retrain] = pending(w)
    assert retrain.action == "retrain" and w.cluster.jobs() == []
    assert decide(w, g, retrain, "alice", True) == "waiting_approval"
    # training ran to its end; @champion did not move; the winner waits at @challenger
    [job] = w.cluster.jobs()
    assert job.status is JobStatus.SUCCEEDED
    after = w.registry.get_model(model)
    assert after.aliases[CHAMPION] == champion
    challenger = after.aliases[CHALLENGER]
    assert challenger > champion
    assert tags.APPROVAL not in w.registry.get_version(model, challenger).tags
    # a second request: the promotion, with the scores and the gate's reasons
    [promotion] = pending(w)
    assert promotion.key == promotion_key(thread_id(incident))
    assert promotion.id != retrain.id and promotion.action == "promote"
    assert [(a.model, a.alias, a.version) for a in promotion.actions] == [
        (model, CHAMPION, challenger)
    ]
    shown = "\n".join(promotion.reasons)
    assert f"challenger v{challenger} auc {CHAMPION_AUC + LEAD:.3f}" in shown
    assert f"champion v{champion} auc {CHAMPION_AUC:.3f}" in shown
    assert f"training job {job.id} finished" in shown
    assert "gate:" in shown
    # resuming a run never hands it the retrain's decision as the promotion's
    resume(w, g)
    assert w.registry.get_model(model).aliases[CHAMPION] == champion
    assert [r.id for r in pending(w)] == [promotion.id]
    # four eyes on the promotion too; then approving it moves the alias
    with pytest.raises(ConflictError, match="four-eyes"):
        decide(w, g, promotion, "bob", True)
    assert decide(w, g, promotion, "carol", True) == "done"
    final = w.registry.get_model(model)
    assert final.aliases[CHAMPION] == challenger and CHALLENGER not in final.aliases
    recorded = w.registry.get_version(model, challenger).tags[tags.APPROVAL]
    assert recorded == f"{promotion.id} by carol"
    kinds = [r.kind for r in w.audit.records(incident=incident.id)]
    assert kinds.index("approved") < kinds.index("promotion_requested")
    assert kinds.index("promotion_requested") < kinds.index("promotion_approved")
    assert w.audit.verify().ok


def test_a_rejected_promotion_keeps_the_champion(
    world: World, graph: tuple[RemediationWorld, object]
) -> None:
    w, g = graph
    incident = prod_retrain(world)
    model = incident.models[0]
    champion = w.registry.get_model(model).aliases[CHAMPION]
    remediate([incident], w, g, "bob")
    [retrain] = pending(w)
    decide(w, g, retrain, "alice", True)
    [promotion] = pending(w)
    assert decide(w, g, promotion, "alice", False) == "rejected"
    assert w.registry.get_model(model).aliases[CHAMPION] == champion
    assert "promotion_rejected" in [r.kind for r in w.audit.records(incident=incident.id)]


def test_a_promotion_while_the_training_job_is_queued_is_impossible(
    world: World, graph: tuple[RemediationWorld, object]
) -> None:
    w, _ = graph
    incident = prod_retrain(world)
    model = incident.models[0]
    registered = w.registry.get_model(model)
    champion = registered.aliases[CHAMPION]
    cluster = w.cluster
    assert isinstance(cluster, SimCluster)
    ns = training_namespace(registered)
    cluster.inject_quota_cut(ns, 0.0)  # nothing can be admitted: the job stays queued
    job = cluster.submit_job(
        JobSpec(
            namespace=ns,
            model=model,
            gpu=TRAINING_REQUEST,
            duration_s=3600,
            idempotency_key="queued-retrain",
            tolerations=[ENV_TAINT, TRAINING_TAINT],
        )
    )
    cluster.advance(timedelta(hours=1))
    assert cluster.job(job.id).status is JobStatus.QUEUED
    latest = max(v.version for v in w.registry.all_versions(model))
    w.registry.set_alias(model, CHALLENGER, latest, actor="test", reason="candidate")
    candidate = PendingPromotion(
        model=model,
        version=latest,
        champion=champion,
        job=job.id,
        key=f"{incident.id}:{model}:retrain",
        metric="auc",
        challenger_score=0.9,
        champion_score=0.8,
        holdout="fixed",
        holdout_rows=50,
    )
    approval = Decision(request_id="apr-x", approved=True, by="carol", at=w.clock())
    result = promote(candidate, plan(model), w, approval, {})
    assert not result.ok
    assert f"training job {job.id} is queued: promotion of v{latest} refused" in result.summary
    assert w.registry.get_model(model).aliases[CHAMPION] == champion
