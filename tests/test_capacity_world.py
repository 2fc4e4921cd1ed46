"""The capacity planner on a seeded world: CLI report/plan/apply and the gate/approval path."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.capacity.apply import ApplyWorld, apply_plan, idempotency_key
from agents.capacity.plan import CapacityPlan, PlannedAction, build_plan
from tests.support.cli import copy_data_dir, shared_data_dir
from tests.support.cli import run_lotsen as lotsen
from tools.capacity.consolidation import Move
from tools.cluster.sim import SimCluster
from tools.domain import Deployment, Environment
from tools.policy.action import ActionKind, ProposedAction
from world.capacity import apply_port
from world.settings import Settings
from world.world import World

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_data_dir(tmp_path_factory, models=16, seed=4)


@pytest.fixture
def data(seeded: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return copy_data_dir(seeded, tmp_path, monkeypatch)


def test_capacity_report_and_plan_from_the_cli(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = lotsen(capsys, monkeypatch, "capacity", "report", "--json")
    assert code == 0
    report = json.loads(out)
    twin = SimCluster(data / "world" / "cluster.db")
    assert {p["name"] for p in report["pools"]} == {p.name for p in twin.node_pools()}
    held = sum(n["requested"] for n in report["namespaces"])
    assert held == pytest.approx(sum(p["requested"] for p in report["pools"]))
    assert {e["name"] for e in report["envs"]} == {"dev", "test", "prod"}
    code, out, _ = lotsen(capsys, monkeypatch, "capacity", "report")
    assert code == 0 and "Namespaces" in out and "prod-h100-mig" in out
    code, out, _ = lotsen(capsys, monkeypatch, "capacity", "plan", "--json")
    plan = CapacityPlan.model_validate_json(out)
    assert code == 0 and plan.explained_by == "tier0" and plan.unplaceable == []
    assert all(p.lower_bound <= p.plan_gpus <= p.first_fit_gpus for p in plan.packing)
    assert (data / "world" / "capacity_plan.json").exists()
    code, out, _ = lotsen(capsys, monkeypatch, "capacity", "apply", "--as", "carol", "--json")
    outcomes = json.loads(out)
    assert code == 0 and len(outcomes) == len(plan.actions)
    envs = {a.n: a.env for a in plan.actions}
    assert not [
        o for o in outcomes if envs[o["n"]] is Environment.PROD and o["status"] == "executed"
    ]


def test_user_mistakes_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOTSEN_DATA_DIR", str(tmp_path / "empty"))
    code, _, err = lotsen(capsys, monkeypatch, "capacity", "report")
    assert code == 2 and err.startswith("error: no fleet in")
    monkeypatch.setenv("LOTSEN_GPU_HOUR_PRICE", '{"V100": 1.0}')
    code, _, err = lotsen(capsys, monkeypatch, "capacity", "report")
    assert code == 2 and err.startswith("error: invalid setting LOTSEN_GPU_HOUR_PRICE")


@pytest.fixture
def world(data: Path) -> Iterator[tuple[World, SimCluster, ApplyWorld]]:
    with World(Settings(data_dir=data)) as opened:
        twin = opened.cluster
        assert isinstance(twin, SimCluster)
        yield opened, twin, apply_port(opened)


def _prod_move(twin: SimCluster) -> tuple[Deployment, Move]:
    for dep in twin.deployments():
        if dep.env is not Environment.PROD or not dep.placements:
            continue
        p = dep.placements[0]
        label = dep.gpu.slot_label()
        for node in twin.nodes(Environment.PROD):
            for gpu in node.gpus:
                free = any(s.label == label and s.occupant is None for s in gpu.slots)
                if free and (node.name, gpu.index) != (p.node, p.gpu_index):
                    slot = next(s for g in twin.nodes() for s in g.gpus[p.gpu_index].slots
                                if g.name == p.node and s.id == p.slot_id)  # fmt: skip
                    assert slot.occupant is not None
                    move = Move(namespace=dep.namespace, name=dep.name,
                                replica=slot.occupant.replica, from_node=p.node,
                                from_gpu=p.gpu_index, to_node=node.name, to_gpu=gpu.index,
                                slot_label=label)  # fmt: skip
                    return dep, move
    raise AssertionError("the seeded world has no prod replica with somewhere to go")


def test_a_prod_move_waits_for_four_eyes_then_runs_once(
    world: tuple[World, SimCluster, ApplyWorld],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    opened, twin, w = world
    dep, move = _prod_move(twin)
    action = PlannedAction(
        n=1,
        action=ProposedAction(kind=ActionKind.MOVE, proposer="dave", model=dep.model,
                              namespace=dep.namespace, deployment=dep.name,
                              detail="consolidate"),
        env=Environment.PROD,
        moves=[move],
    )  # fmt: skip
    denied = PlannedAction(
        n=2,
        action=ProposedAction(kind=ActionKind.SCALE, proposer="dave", model="no-such-model",
                              namespace=dep.namespace, deployment=dep.name, detail="x"),
        replicas=0,
    )  # fmt: skip
    plan = build_plan(twin, opened.capacity).model_copy(update={"actions": [action, denied]})
    before = twin.deployment(dep.namespace, dep.name)

    first = apply_plan(plan, w)
    assert [o.status for o in first] == ["waiting_approval", "denied"]
    assert twin.deployment(dep.namespace, dep.name) == before  # nothing ran
    assert w.audit.find(idempotency_key(plan, action)) is None
    again = apply_plan(plan, w)
    assert again[0].approval_id == first[0].approval_id
    assert len(w.approvals.requests(w.clock(), "pending")) == 1

    request_id = first[0].approval_id
    assert request_id is not None
    code, _, err = lotsen(capsys, monkeypatch, "approvals", "approve", request_id, "--as", "dave")
    assert code == 2 and "four-eyes rule" in err
    assert apply_plan(plan, w)[0].status == "waiting_approval"
    # approving executes the exact approved action at once, without LangGraph
    code, out, _ = lotsen(capsys, monkeypatch, "approvals", "approve", request_id, "--as", "erin")
    assert code == 0 and "executed" in out
    request = w.approvals.get(request_id)
    assert request.decided_by == "erin" and request.executed_at is not None
    moved = twin.deployment(dep.namespace, dep.name)
    assert (move.to_node, move.to_gpu) in {(p.node, p.gpu_index) for p in moved.placements}
    done = apply_plan(plan, w)
    assert [o.status for o in done] == ["already_done", "denied"]
    actions = [r for r in w.audit.records() if r.kind == "action"]
    assert len(actions) == 1 and actions[0].data["approver"] == "erin"
    assert w.audit.verify().ok
    assert twin.deployment(dep.namespace, dep.name).replicas == before.replicas  # deny held
