"""The platform kernel: one World, one approval queue, one gate and policy source, one clock."""

import json
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from agents.capacity.apply import ApplyWorld, apply_plan
from agents.capacity.plan import CapacityPlan, PlannedAction
from memory.approvals import ApprovalQueue, NewRequest
from memory.audit import AuditLog
from tests.support.cli import copy_data_dir, shared_data_dir
from tests.support.cli import run_lotsen as lotsen
from tools.cluster.sim import SimCluster
from tools.domain import Environment
from tools.errors import ConflictError
from tools.policy.action import ActionKind, GateDecision, ProposedAction
from world import compliance
from world.settings import Settings
from world.world import World

pytestmark = pytest.mark.slow
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_data_dir(tmp_path_factory, models=16, seed=4)


@pytest.fixture
def data(seeded: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return copy_data_dir(seeded, tmp_path, monkeypatch)


@pytest.fixture
def world(data: Path) -> Iterator[World]:
    with World(Settings(data_dir=data)) as opened:
        yield opened


def _apply(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> list[str]:
    code, _, err = lotsen(capsys, monkeypatch, "capacity", "plan", "--no-explain", "--json")
    assert code == 0, err
    code, out, err = lotsen(capsys, monkeypatch, "capacity", "apply", "--as", "carol", "--json")
    assert code == 0, err
    return [f"{o['status']}: {o['detail']}" for o in json.loads(out)]


def test_capacity_apply_honours_user_policy_files(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    strict = data.parent / "strict.yaml"
    strict.write_text(
        "policies:\n"
        "  - id: ACC-01\n"
        "    title: Access reviewed today\n"
        "    rationale: test\n"
        "    reference: test\n"
        "    severity: critical\n"
        "    scope: namespace\n"
        "    check: access_review_recent\n"
        "    params: {max_age_days: 0}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("LOTSEN_POLICY_FILES", json.dumps([str(strict)]))
    outcomes = _apply(capsys, monkeypatch)
    assert outcomes, "the seeded world has something to optimise"
    assert not [o for o in outcomes if o.startswith("executed")]
    assert any("ACC-01" in o for o in outcomes if o.startswith("waiting_approval"))


def test_without_user_policies_dev_actions_run(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control of the test above: the same plan does execute something."""
    monkeypatch.delenv("LOTSEN_POLICY_FILES", raising=False)
    assert any(o.startswith("executed") for o in _apply(capsys, monkeypatch))


def test_gate_approvals_and_scans_share_the_twins_clock(world: World) -> None:
    twin = world.cluster
    assert isinstance(twin, SimCluster)
    request = world.approvals.submit(_new("k1"), world.clock(), timedelta(hours=24))
    twin.advance(timedelta(hours=30))
    assert world.clock() == twin.now()
    assert world.gate().now == twin.now()
    assert compliance.scan(world).at == twin.now()
    assert world.approvals.get(request.id).status == "pending"
    assert [r.id for r in world.approvals.requests(world.clock(), "pending")] == []
    assert world.approvals.get(request.id).status == "expired"
    with pytest.raises(ConflictError, match="already expired"):
        world.approvals.decide(request.id, "alice", True, world.clock(), None)


def test_an_expired_proposal_can_be_proposed_again(tmp_path: Path) -> None:
    queue = ApprovalQueue(tmp_path / "approvals.db")
    first = queue.submit(_new("same"), NOW, timedelta(hours=1))
    assert queue.submit(_new("same"), NOW, timedelta(hours=1)).id == first.id
    later = NOW + timedelta(hours=2)
    second = queue.submit(_new("same"), later, timedelta(hours=1))
    assert second.id != first.id and second.status == "pending"
    assert queue.get(first.id).status == "expired"


def test_four_eyes_ignores_case_and_spaces(tmp_path: Path) -> None:
    queue = ApprovalQueue(tmp_path / "approvals.db")
    request = queue.submit(_new("k", proposer="alice"), NOW, timedelta(hours=1))
    for same in ("Alice", "alice ", " ALICE"):
        with pytest.raises(ConflictError, match="four-eyes"):
            queue.decide(request.id, same, True, NOW, None)
    assert queue.decide(request.id, "bob", True, NOW, None).status == "approved"


def test_of_two_concurrent_decisions_exactly_one_wins(tmp_path: Path) -> None:
    """The first decider holds the request between its check and its write; the second
    decides meanwhile. Exactly one decision is recorded, the other is a conflict."""
    path = tmp_path / "approvals.db"
    request = ApprovalQueue(path).submit(_new("k"), NOW, timedelta(hours=1))
    checked, release = threading.Event(), threading.Event()
    results: dict[str, str] = {}

    class SlowQueue(ApprovalQueue):
        def _check_decidable(self, *args: Any) -> None:
            super()._check_decidable(*args)
            checked.set()
            release.wait(timeout=10)

    def decide(queue: ApprovalQueue, approver: str, approved: bool) -> None:
        try:
            results[approver] = queue.decide(request.id, approver, approved, NOW, None).status
        except ConflictError:
            results[approver] = "conflict"
        finally:
            queue.close()

    first = threading.Thread(target=decide, args=(SlowQueue(path), "alice", True))
    first.start()
    assert checked.wait(timeout=10)
    second = threading.Thread(target=decide, args=(ApprovalQueue(path), "carol", False))
    second.start()
    second.join(timeout=0.5)  # carol waits for alice's transaction (or races it)
    release.set()
    first.join()
    second.join()
    assert results == {"alice": "approved", "carol": "conflict"}
    assert ApprovalQueue(path).get(request.id).decided_by == "alice"


class _AlwaysAsk:
    def review(self, action: ProposedAction) -> GateDecision:
        return GateDecision(verdict="needs_approval", reasons=["test"])


def test_1001_queued_capacity_actions_get_distinct_ids(tmp_path: Path) -> None:
    planned = [
        PlannedAction(
            n=n,
            action=ProposedAction(
                kind=ActionKind.SCALE, proposer="planner", namespace="ns", deployment=f"d{n}"
            ),
            replicas=0,
            env=Environment.PROD,
        )
        for n in range(1, 1002)
    ]
    plan = cast(CapacityPlan, SimpleNamespace(id="p1", actions=planned))  # only these are read
    port = ApplyWorld(
        cluster=None,  # type: ignore[arg-type]  # nothing may run: every action waits
        audit=AuditLog(tmp_path / "audit.db"),
        approvals=ApprovalQueue(tmp_path / "approvals.db"),
        gate=_AlwaysAsk(),
        clock=lambda: NOW,
    )
    outcomes = apply_plan(plan, port)
    ids = [o.approval_id for o in outcomes]
    assert {o.status for o in outcomes} == {"waiting_approval"}
    assert len(set(ids)) == 1001 and None not in ids
    by_n = {o.n: o.approval_id for o in outcomes}
    assert by_n[100] != by_n[1000]
    assert apply_plan(plan, port)[999].approval_id == by_n[1000]  # re-applying re-uses them


def test_a_chat_proposal_approved_through_approvals_runs_once_and_is_audited(
    world: World, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    dev = next(d for d in world.cluster.deployments() if d.env is Environment.DEV and d.replicas)
    question = f"scale {dev.model} to 0"
    code, out, err = lotsen(capsys, monkeypatch, "ask", question, "--as", "dave")
    assert code == 0, err
    pending = world.approvals.requests(world.clock(), "pending", agent="assistant")
    assert len(pending) == 1 and pending[0].id in out
    request = pending[0]
    assert world.cluster.deployment(dev.namespace, dev.name).replicas == dev.replicas
    args = ("approvals", "approve", request.id)
    code, _, err = lotsen(capsys, monkeypatch, *args, "--as", "Dave ")
    assert code == 2 and "four-eyes" in err
    code, out, err = lotsen(capsys, monkeypatch, *args, "--as", "erin")
    assert code == 0 and "executed" in out, err
    assert world.cluster.deployment(dev.namespace, dev.name).replicas == 0
    code, _, err = lotsen(capsys, monkeypatch, *args, "--as", "frank")
    assert code == 2 and "already approved" in err
    actions = [r for r in world.audit.records() if r.kind == "action"]
    assert len(actions) == 1
    assert (actions[0].data["approver"], actions[0].data["proposer"]) == ("erin", "dave")
    assert world.approvals.get(request.id).executed_at is not None


def test_fleet_init_force_keeps_the_audit_log_and_refuses_pending_approvals(
    world: World, data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    world.audit.append("note", actor="alice", data={"x": 1})
    request = world.approvals.submit(_new("k"), world.clock(), timedelta(hours=24))
    world.close()
    init = ("fleet", "init", "--models", "12", "--seed", "9", "--force")
    code, _, err = lotsen(capsys, monkeypatch, *init)
    assert code == 2 and request.id in err and "--expire-pending" in err
    code, out, err = lotsen(capsys, monkeypatch, *init, "--expire-pending")
    assert code == 0 and "Kept" in out, err
    with World(Settings(data_dir=data)) as after:
        kinds = [r.kind for r in after.audit.records()]
        assert kinds[0] == "note" and kinds[-1] == "fleet_reseeded"
        assert after.audit.verify().ok
        assert after.approvals.get(request.id).status == "expired"
        assert len(after.registry.list_models()) == 12


def test_a_world_of_the_previous_layout_opens_after_migration(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before the kernel: audit log and approvals lived inside the world (remediation v1)."""
    from memory.remediation import _MIGRATIONS as REMEDIATION

    old = data / "world"
    with World(Settings(data_dir=data)) as opened:
        clock = opened.clock()
    log = AuditLog(old / "audit.db")
    log.append("decision", actor="retrainer", data={"action": "rollback"})
    log.close()
    conn = sqlite3.connect(old / "remediation.db")
    conn.executescript(
        "CREATE TABLE lotsen_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);" + REMEDIATION[0]
    )
    conn.executemany(
        "INSERT INTO lotsen_meta VALUES (?, ?)",
        [("schema", "lotsen.remediation"), ("version", "1")],
    )
    conn.execute(
        "INSERT INTO runs VALUES ('rem-abc', 'inc-abc', 'bad_deploy', 'waiting_approval', 'bob', "
        "?, NULL)",
        (clock.isoformat(),),
    )
    conn.execute(
        "INSERT INTO approvals VALUES ('apr-abc', 'rem-abc', 'inc-abc', 'rollback', '[\"m\"]', "
        "'[\"prod\"]', 'bob', ?, ?, 'pending', NULL, NULL, NULL)",
        (clock.isoformat(), (clock + timedelta(hours=24)).isoformat()),
    )
    conn.commit()
    conn.close()
    code, out, err = lotsen(capsys, monkeypatch, "approvals", "list", "--json")
    assert code == 0, err
    adopted = json.loads(out)
    assert [(a["id"], a["agent"], a["key"]) for a in adopted] == [
        ("apr-abc", "remediation", "remediation:rem-abc")
    ]
    assert not (old / "audit.db").exists() and (data / "state" / "audit.db").exists()
    code, out, _ = lotsen(capsys, monkeypatch, "audit", "verify")
    assert code == 0 and "1 records" in out
    version = sqlite3.connect(old / "remediation.db").execute(
        "SELECT value FROM lotsen_meta WHERE key = 'version'"
    )
    assert version.fetchone() == (str(len(REMEDIATION)),)


def _new(key: str, proposer: str = "bob") -> NewRequest:
    return NewRequest(
        key=key,
        agent="capacity",
        action="capacity scale",
        actions=[],
        models=["m"],
        reasons=["test"],
        verdict="needs_approval",
        proposer=proposer,
    )


def test_an_approved_chat_request_the_gate_now_denies_does_not_run(world: World) -> None:
    from agents.assistant.execute import ChatPort, execute_approved

    model = world.registry.list_models()[0]
    promote = ProposedAction(
        kind=ActionKind.SET_ALIAS, proposer="dave", model=model.name, alias="champion", version=99
    )
    new = _new("chat:x", proposer="dave").model_copy(
        update={"agent": "assistant", "actions": [promote]}
    )
    request = world.approvals.submit(new, world.clock(), timedelta(hours=1))
    approved = world.approvals.decide(request.id, "erin", True, world.clock(), None)
    port = ChatPort(world.registry, world.cluster, world.audit, world.gate())
    with pytest.raises(ConflictError, match="the gate now denies"):
        execute_approved(approved, port)
    assert world.registry.get_model(model.name).aliases == model.aliases
    assert [r for r in world.audit.records() if r.kind == "action"] == []


def test_executing_an_approved_chat_request_twice_runs_it_once(world: World) -> None:
    from agents.assistant.execute import ChatPort, execute_approved

    dev = next(d for d in world.cluster.deployments() if d.env is Environment.DEV and d.replicas)
    scale = ProposedAction(
        kind=ActionKind.SCALE,
        proposer="dave",
        model=dev.model,
        namespace=dev.namespace,
        deployment=dev.name,
        replicas=dev.replicas + 1,
    )
    new = _new("chat:y", proposer="dave").model_copy(
        update={"agent": "assistant", "actions": [scale]}
    )
    request = world.approvals.submit(new, world.clock(), timedelta(hours=1))
    approved = world.approvals.decide(request.id, "erin", True, world.clock(), None)
    port = ChatPort(world.registry, world.cluster, world.audit, world.gate())
    first = execute_approved(approved, port)
    world.cluster.scale(dev.namespace, dev.name, dev.replicas)  # someone scales it back
    assert execute_approved(approved, port) == first  # a retry finds the audited execution
    assert world.cluster.deployment(dev.namespace, dev.name).replicas == dev.replicas
    assert len([r for r in world.audit.records() if r.kind == "action"]) == 1


def test_an_approval_binds_the_exact_capacity_action(world: World) -> None:
    """Editing the saved plan after an approval cannot re-target what was approved."""
    dev = next(d for d in world.cluster.deployments() if d.env is Environment.DEV and d.replicas)
    prod = next(d for d in world.cluster.deployments() if d.env is Environment.PROD and d.replicas)

    def scale(dep: Any) -> PlannedAction:
        action = ProposedAction(
            kind=ActionKind.SCALE,
            proposer="planner",
            model=dep.model,
            namespace=dep.namespace,
            deployment=dep.name,
        )
        return PlannedAction(n=1, action=action, replicas=0, env=dep.env)

    port = ApplyWorld(world.cluster, world.audit, world.approvals, _AlwaysAsk(), world.clock)
    plan = cast(CapacityPlan, SimpleNamespace(id="p1", actions=[scale(dev)]))
    [waiting] = apply_plan(plan, port)
    assert waiting.approval_id is not None
    world.approvals.decide(waiting.approval_id, "erin", True, world.clock(), None)
    edited = cast(CapacityPlan, SimpleNamespace(id="p1", actions=[scale(prod)]))
    [refused] = apply_plan(edited, port)
    assert refused.status == "denied" and "differs" in refused.detail
    assert world.cluster.deployment(prod.namespace, prod.name).replicas == prod.replicas
    assert [o.status for o in apply_plan(plan, port)] == ["executed"]
    assert world.cluster.deployment(dev.namespace, dev.name).replicas == 0
