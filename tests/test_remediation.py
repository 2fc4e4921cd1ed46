"""The remediation workflow end to end over the real MLflow registry and the twin."""

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agents.remediation.runner import RunOutcome, continue_with, remediate, resume
from agents.remediation.trainers import RUN_TAG
from tools.domain import JobStatus
from tools.drift.incidents import Incident
from tools.errors import ConflictError, NotFoundError, StateError
from tools.registry import CHALLENGER, CHAMPION
from world.monitoring import scan_fleet
from world.remediation import Workflow, open_workflow
from world.settings import Settings
from world.world import World

pytestmark = pytest.mark.slow


@pytest.fixture
def settings(remediation_seed: Path, tmp_path: Path) -> Settings:
    copy = tmp_path / "data"
    shutil.copytree(remediation_seed, copy, symlinks=True)
    return Settings(data_dir=copy)


@pytest.fixture
def world(settings: Settings) -> Iterator[World]:
    with World(settings) as opened:
        yield opened


@pytest.fixture
def wf(world: World) -> Iterator[Workflow]:
    with open_workflow(world, "bob") as workflow:
        yield workflow


def by_kind(incidents: list[Incident]) -> dict[str, Incident]:
    return {i.kind: i for i in incidents}


def run_all(world: World, wf: Workflow) -> dict[str, Incident]:
    incidents = scan_fleet(world).incidents
    remediate(incidents, wf.world, wf.graph, wf.proposer)
    return by_kind(incidents)


def champions(wf: Workflow) -> dict[str, int]:
    return {m.name: m.aliases[CHAMPION] for m in wf.world.registry.list_models()}


def trained(wf: Workflow, incident: Incident) -> int | None:
    """The version the incident's retrain registered (by its run tag), or None."""
    model = incident.models[0]
    key = f"{incident.id}:{model}:retrain"
    found = [v.version for v in wf.world.registry.all_versions(model) if v.tags.get(RUN_TAG) == key]
    return found[0] if found else None


def approval_for(wf: Workflow, incident: Incident) -> str:
    return next(
        a.id for a in wf.world.approvals.requests(wf.world.clock()) if a.incident_id == incident.id
    )


def decide_approval(
    request_id: str, approver: str, approved: bool, note: str | None, wf: Workflow
) -> RunOutcome:
    """What `lotsen approvals approve|reject` does for a remediation request."""
    request = wf.world.approvals.decide(request_id, approver, approved, wf.world.clock(), note)
    decision = request.decision()
    assert decision is not None
    return continue_with(decision, request.handle, wf.world, wf.graph)


def test_every_row_of_the_decision_table(world: World, wf: Workflow) -> None:
    registry, store = wf.world.registry, wf.world.store
    start = champions(wf)
    kinds = run_all(world, wf)
    assert set(kinds) == {
        "data_quality",
        "covariate_drift",
        "drift_with_performance_drop",
        "concept_drift",
        "bad_deploy",
        "latency_regression",
    }
    # data quality: one data incident for the whole pipeline, quarantine, no retrain
    upstream = kinds["data_quality"]
    assert [d.id for d in store.data_incidents()] == [upstream.id]
    assert {m for m, _ in store.quarantined()} == set(upstream.models)
    assert all(registry.get_model(m).aliases[CHAMPION] == start[m] for m in upstream.models)
    assert wf.world.cluster.jobs() == []
    # drift with healthy performance: watch only
    assert set(kinds["covariate_drift"].models) <= set(store.watched())
    # the prod retrain and the concept-drift retrain wait for a human; nothing changed yet.
    # The rollbacks are on test-env, not high-risk models: no approval, already done.
    waiting = {r.incident_id for r in store.runs("waiting_approval")}
    retrain, concept = kinds["drift_with_performance_drop"], kinds["concept_drift"]
    assert waiting == {retrain.id, concept.id}
    model = retrain.models[0]
    champion_before = start[model]
    assert registry.get_model(model).aliases[CHAMPION] == champion_before
    assert wf.world.cluster.jobs() == []
    decide_approval(approval_for(wf, retrain), "alice", True, "looks right", wf)
    # the retrain's approval approved training only: the winner waits at @challenger
    waiting_model = registry.get_model(model)
    assert waiting_model.aliases[CHAMPION] == champion_before
    assert waiting_model.aliases[CHALLENGER] == trained(wf, retrain)
    promotion = wf.world.approvals.by_key(
        f"remediation:rem-{retrain.id.removeprefix('inc-')}:promote"
    )
    assert promotion is not None and promotion.status == "pending"
    decide_approval(promotion.id, "alice", True, "scores checked", wf)
    after = registry.get_model(model)
    assert after.aliases[CHAMPION] == trained(wf, retrain)
    assert after.aliases[CHAMPION] > champion_before
    assert CHALLENGER not in after.aliases  # promoted: no longer a challenger
    [job] = wf.world.cluster.jobs()
    assert job.status is JobStatus.SUCCEEDED  # the job ended before its version was promoted
    # concept drift: retrain only after review
    assert trained(wf, concept) is None
    decide_approval(approval_for(wf, concept), "alice", True, None, wf)
    assert trained(wf, concept) is not None
    # bad deploy / latency after deploy: rolled back to the previous version
    for kind in ("bad_deploy", "latency_regression"):
        name = kinds[kind].models[0]
        assert registry.get_model(name).aliases[CHAMPION] < start[name]
    assert wf.world.audit.verify().ok


def test_reject_and_four_eyes_and_expiry(world: World, wf: Workflow) -> None:
    kinds = run_all(world, wf)
    concept = kinds["concept_drift"]
    request = approval_for(wf, concept)
    with pytest.raises(ConflictError, match="four-eyes rule: bob proposed this change"):
        decide_approval(request, "bob", True, None, wf)
    outcome = decide_approval(request, "alice", False, "not now", wf)
    assert outcome.status == "rejected"
    assert wf.world.registry.get_model(concept.models[0]).aliases.get(CHALLENGER) is None
    with pytest.raises(ConflictError, match="already rejected"):
        decide_approval(request, "carol", True, None, wf)
    with pytest.raises(NotFoundError, match="unknown approval request 'apr-nope'"):
        decide_approval("apr-nope", "alice", True, None, wf)
    retrain = kinds["drift_with_performance_drop"]
    wf.world.clock = lambda: datetime.now(UTC) + timedelta(days=2)
    with pytest.raises(ConflictError, match="expired"):
        decide_approval(approval_for_any(wf, retrain), "alice", True, None, wf)
    kinds_audit = [r.kind for r in wf.world.audit.records(incident=concept.id)]
    assert "rejected" in kinds_audit and "action" not in kinds_audit


def approval_for_any(wf: Workflow, incident: Incident) -> str:
    return next(
        a.id for a in wf.world.approvals.requests(datetime.now(UTC)) if a.incident_id == incident.id
    )


def test_running_twice_repeats_nothing(world: World, wf: Workflow) -> None:
    run_all(world, wf)
    audit_before = len(wf.world.audit.records())
    versions_before = {
        m.name: len(wf.world.registry.list_versions(m.name))
        for m in wf.world.registry.list_models()
    }
    run_all(world, wf)
    assert resume(wf.world, wf.graph) == []
    assert len(wf.world.audit.records()) == audit_before
    assert {
        m.name: len(wf.world.registry.list_versions(m.name))
        for m in wf.world.registry.list_models()
    } == versions_before


def test_corrupt_checkpoint_is_a_clear_error(settings: Settings) -> None:
    checkpoints = settings.data_dir / "world" / "checkpoints.db"
    checkpoints.write_bytes(b"garbage" * 500)
    with (
        World(settings) as world,
        pytest.raises(StateError, match="not a usable checkpoint database"),
        open_workflow(world, "bob"),
    ):
        pass


def test_postgres_checkpointer_survives_a_new_process_connection(settings: Settings) -> None:
    from pydantic import SecretStr

    from tests.support.postgres import postgres_server

    with postgres_server() as url:
        pg = settings.model_copy(update={"checkpoint_url": SecretStr(url)})
        with World(pg) as world, open_workflow(world, "bob") as first:
            kinds = run_all(world, first)
            concept = kinds["concept_drift"]
            request = approval_for(first, concept)
        assert not (settings.data_dir / "world" / "checkpoints.db").exists()
        with (
            World(pg) as world,
            open_workflow(world, "alice") as second,
        ):  # new connection: state comes from PostgreSQL
            done = decide_approval(request, "alice", True, None, second)
            # trained; the winner's promotion is its own request, queued from this process
            assert done.status == "waiting_approval"
            assert trained(second, concept) is not None
            [promotion] = [
                a
                for a in second.world.approvals.requests(second.world.clock(), "pending")
                if a.incident_id == concept.id
            ]
            assert promotion.action == "promote"


def test_unreachable_checkpoint_database(settings: Settings, closed_port: int) -> None:
    from pydantic import SecretStr

    bad = settings.model_copy(
        update={"checkpoint_url": SecretStr(f"postgresql://x@127.0.0.1:{closed_port}/db")}
    )
    with (
        World(bad) as world,
        pytest.raises(Exception, match="cannot reach the checkpoint database"),
        open_workflow(world, "bob"),
    ):
        pass


def test_finished_incidents_become_memory_for_the_next_decision(world: World, wf: Workflow) -> None:
    kinds = run_all(world, wf)
    upstream = kinds["data_quality"]
    memory = wf.world.memory
    assert memory is not None
    recalled = {r.id: r for r in memory.similar(f"{upstream.kind} {upstream.probable_cause}", k=3)}
    assert upstream.id in recalled and recalled[upstream.id].outcome.startswith("done")
    decision = next(r for r in wf.world.audit.records(incident=upstream.id) if r.kind == "decision")
    assert any(s.startswith("runbook:") for s in decision.data["similar"])


def test_an_error_mid_action_is_recorded_and_the_rest_goes_on(world: World, wf: Workflow) -> None:
    from agents.remediation.executor import execute
    from agents.remediation.gate import GateResult
    from agents.remediation.plan import Action, RemediationPlan

    real = wf.world.registry.list_models()[0].name
    plan = RemediationPlan(
        incident_id="inc-test",
        incident_kind="bad_deploy",
        action=Action.ROLLBACK,
        models=["ghost-model", real],
        reason="test",
        decided_by="tier0",
    )
    results = execute(
        plan,
        GateResult(verdict="allow"),
        {"ghost-model": 2, real: 1},
        wf.world,
        pipeline=None,
        window=datetime.now(UTC),
        cause="test",
    )
    assert [r.ok for r in results] == [False, False]
    assert "unknown model 'ghost-model'" in results[0].summary
    assert f"{real} has no version before v1" in results[1].summary
    failures = [r for r in wf.world.audit.records(incident="inc-test") if r.kind == "action_failed"]
    assert len(failures) == 2 and wf.world.audit.verify().ok


def test_a_data_incident_goes_to_the_pipeline_owner_in_the_catalogue(
    world: World, wf: Workflow
) -> None:
    """The owner comes from the catalogue, not from the pipeline's name."""
    upstream = by_kind(scan_fleet(world).incidents)["data_quality"]
    assert upstream.pipeline is not None
    pipeline = next(p for p in world.pipelines if p.name == upstream.pipeline)
    wf.world.pipelines = [pipeline.model_copy(update={"owner": "data-platform"})]
    remediate([upstream], wf.world, wf.graph, wf.proposer)
    opened = {d.id: d for d in wf.world.store.data_incidents()}
    assert opened[upstream.id].owner == "data-platform"


def test_an_expired_request_is_proposed_anew_and_its_run_resumes(
    world: World, wf: Workflow
) -> None:
    kinds = run_all(world, wf)
    retrain = kinds["drift_with_performance_drop"]
    first = approval_for(wf, retrain)
    later = datetime.now(UTC) + timedelta(days=2)
    wf.world.clock = lambda: later
    with pytest.raises(ConflictError, match="expired"):
        decide_approval(first, "alice", True, None, wf)
    [run] = [r for r in wf.world.store.runs() if r.incident_id == retrain.id]
    assert run.status == "waiting_approval"

    remediate([retrain], wf.world, wf.graph, wf.proposer)  # the next run proposes it anew

    [second] = [
        a.id for a in wf.world.approvals.requests(later, "pending") if a.incident_id == retrain.id
    ]
    assert second != first and wf.world.approvals.get(first).status == "expired"
    outcome = decide_approval(second, "alice", True, None, wf)
    assert outcome.status == "waiting_approval", outcome.summary  # now its promotion
    [promotion] = [
        a.id for a in wf.world.approvals.requests(later, "pending") if a.incident_id == retrain.id
    ]
    assert decide_approval(promotion, "alice", True, None, wf).status == "done"
    kinds_audit = [r.kind for r in wf.world.audit.records(incident=retrain.id)]
    assert kinds_audit.count("approval_requested") == 2 and "approved" in kinds_audit
