"""A real crash test: SIGKILL the remediation at kill points chosen by its progress.

Each trial kills `lotsen remediate --auto` (or an approval) once it has written its k-th
audit record, checks that it really died mid-run, resumes and finishes, then checks the end
state against expectations taken from the decision table itself (independent of the code
under test), and against an uninterrupted run.
"""

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lotsen.bench.killresume import (
    WorldState,
    audit_records,
    finish,
    kill_after_records,
    pending_approvals,
    reference_state,
    world_state,
)
from memory.approvals import ApprovalRequest
from memory.remediation import Run
from tools.drift.incidents import Incident
from tools.registry import CHAMPION
from world.monitoring import scan_fleet
from world.settings import Settings
from world.world import World

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def reference(
    remediation_seed: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[WorldState, int]:
    """The uninterrupted run's end state, and the audit records `remediate --auto` writes."""
    workdir = tmp_path_factory.mktemp("reference")
    state = reference_state(remediation_seed, workdir)
    once = workdir / "once"
    shutil.copytree(remediation_seed, once, symlinks=True)
    assert kill_after_records(once, 10**9, "remediate", "--auto") == (False, audit_records(once))
    return state, audit_records(once)


@pytest.fixture(scope="module")
def before(remediation_seed: Path) -> tuple[list[Incident], dict[str, int]]:
    """The incidents and champions before any remediation."""
    with World(Settings(data_dir=remediation_seed)) as world:
        incidents = scan_fleet(world, record=False).incidents  # the seed stays as seeded
        champions = {m.name: m.aliases[CHAMPION] for m in world.registry.list_models()}
    return incidents, champions


@pytest.fixture
def data(remediation_seed: Path, tmp_path: Path) -> Iterator[Path]:
    copy = tmp_path / "data"
    shutil.copytree(remediation_seed, copy, symlinks=True)
    yield copy


@dataclass
class End:
    """The end state the decision table speaks about."""

    runs: dict[str, Run]
    job_keys: list[str]
    champions: dict[str, int | None]
    requests: dict[str, ApprovalRequest]
    data_incidents: set[str]
    quarantined: set[str]
    watched: set[str]
    audit_ok: bool


def read_end(data: Path) -> End:
    with World(Settings(data_dir=data)) as world:
        return End(
            runs={r.incident_id: r for r in world.runs.runs()},
            job_keys=[j.spec.idempotency_key for j in world.cluster.jobs()],
            champions={m.name: m.aliases.get(CHAMPION) for m in world.registry.list_models()},
            requests={a.incident_id or "": a for a in world.approvals.requests(world.clock())},
            data_incidents={d.id for d in world.runs.data_incidents()},
            quarantined={m for m, _ in world.runs.quarantined()},
            watched=set(world.runs.watched()),
            audit_ok=world.audit.verify().ok,
        )


def expect_decision_table(
    data: Path, incidents: list[Incident], champions: dict[str, int]
) -> list[str]:
    """What the decision table says must hold after every incident was remediated."""
    end = read_end(data)
    wrong = [] if end.audit_ok else ["audit chain broken"]
    if len(end.job_keys) != len(set(end.job_keys)):
        wrong.append(f"a job was submitted twice: {sorted(end.job_keys)}")
    for incident in incidents:
        run = end.runs.get(incident.id)
        if run is None or run.status not in ("done", "waiting_approval"):
            wrong.append(f"{incident.id} ({incident.kind}): run {run and run.status}")
            continue
        wrong += _human(incident, run.status == "waiting_approval", end, champions)
        wrong += _action(incident, run.status == "waiting_approval", end, champions)
    return wrong


def _human(incident: Incident, waiting: bool, end: End, before: dict[str, int]) -> list[str]:
    """A waiting run asked a human and changed nothing; no one approved their own change."""
    request = end.requests.get(incident.id)
    untouched = all(end.champions[m] == before[m] for m in incident.models)
    trained = [k for k in end.job_keys if k.startswith(f"{incident.id}:")]
    wrong = []
    if waiting and (request is None or request.status != "pending"):
        wrong.append(f"{incident.id} waits for a human but none is asked")
    # a retrain's promotion is a request of its own: the training ran, the champion did not
    promoting = request is not None and request.action == "promote"
    if waiting and (not untouched or (trained and not promoting)):
        wrong.append(f"{incident.id} waits for a human but something ran")
    if promoting and len(trained) != len(incident.models):
        wrong.append(f"{incident.id} asks to promote what was not trained")
    if request is not None and request.decided_by == request.proposer:
        wrong.append(f"{incident.id} approved by its proposer")
    return wrong


def _action(incident: Incident, waiting: bool, end: End, before: dict[str, int]) -> list[str]:
    """The decision table's action for the incident's kind."""
    untouched = all(end.champions[m] == before[m] for m in incident.models)
    trained = [k for k in end.job_keys if k.startswith(f"{incident.id}:")]
    request = end.requests.get(incident.id)
    match incident.kind:
        case "data_quality":
            opened = incident.id in end.data_incidents
            ok = opened and set(incident.models) <= end.quarantined and untouched and not trained
        case "covariate_drift":
            ok = set(incident.models) <= end.watched and untouched and not trained
        case "concept_drift":
            ok = waiting or (request is not None and request.status == "approved")
        case "drift_with_performance_drop":
            ok = waiting or len(trained) == len(incident.models)
        case "bad_deploy" | "latency_regression":
            ok = waiting or all(end.champions[m] != before[m] for m in incident.models)
    return [] if ok else [f"{incident.id}: not what the decision table says for {incident.kind}"]


def test_the_uninterrupted_run_meets_the_decision_table(
    remediation_seed: Path, tmp_path: Path, before: tuple[list[Incident], dict[str, int]]
) -> None:
    incidents, champions = before
    assert {i.kind for i in incidents} >= {"data_quality", "concept_drift", "covariate_drift"}
    data = tmp_path / "data"
    shutil.copytree(remediation_seed, data, symlinks=True)
    finish(data)
    assert expect_decision_table(data, incidents, champions) == []


@pytest.mark.parametrize("share", [0.3, 0.8])
def test_killed_mid_remediation_at_the_kth_record_then_resumed(
    share: float,
    data: Path,
    reference: tuple[WorldState, int],
    before: tuple[list[Incident], dict[str, int]],
) -> None:
    state, total = reference
    k = max(1, int(total * share))
    alive, at_kill = kill_after_records(data, k, "remediate", "--auto")
    assert alive, "the process finished before the kill point"
    assert k <= at_kill < total, "the kill landed mid-run"
    finish(data)
    assert expect_decision_table(data, *before) == []
    end = world_state(data)
    assert end == state, [
        f for f in WorldState.model_fields if getattr(end, f) != getattr(state, f)
    ]


def test_killed_mid_approval_then_resumed(
    data: Path, reference: tuple[WorldState, int], before: tuple[list[Incident], dict[str, int]]
) -> None:
    finish_without_approvals = ("remediate", "--auto")
    alive, _ = kill_after_records(data, 10**9, *finish_without_approvals)
    assert not alive
    request = pending_approvals(data)[0]
    start = audit_records(data)
    approve = ("approvals", "approve", request, "--as", "alice")
    alive, at_kill = kill_after_records(data, start + 2, *approve)
    assert alive and at_kill >= start + 2, "the approval was killed while it acted"
    finish(data)
    assert expect_decision_table(data, *before) == []
    assert world_state(data) == reference[0]
