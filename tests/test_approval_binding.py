"""An approval binds the exact actions it was given for (a hash of their canonical form):
if the stored actions, or the run's own, differ from those, the approval is void."""

import shutil
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agents.remediation.runner import continue_with
from memory.approvals import ApprovalQueue, NewRequest, action_digest
from tools.errors import ConflictError
from tools.policy.action import ActionKind, ProposedAction
from tools.registry import CHAMPION
from world.remediation import open_workflow
from world.settings import Settings
from world.world import World

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _rollback(model: str) -> ProposedAction:
    return ProposedAction(kind=ActionKind.ROLLBACK, model=model, proposer="bob")


def _retarget(path: Path, request_id: str, model: str) -> None:
    """What someone with the file could do: point a request's stored action elsewhere."""
    with closing(sqlite3.connect(path)) as conn:
        (actions,) = conn.execute(
            "SELECT actions FROM requests WHERE id = ?", (request_id,)
        ).fetchone()
        conn.execute(
            "UPDATE requests SET actions = ? WHERE id = ?",
            (actions.replace("churn-0001", model), request_id),
        )
        conn.commit()


def test_a_request_whose_actions_changed_cannot_be_approved(tmp_path: Path) -> None:
    queue = ApprovalQueue(tmp_path / "approvals.db")
    request = queue.submit(
        NewRequest(
            key="k",
            agent="assistant",
            action="chat rollback",
            actions=[_rollback("churn-0001")],
            models=["churn-0001"],
            reasons=["prod"],
            verdict="needs_approval",
            proposer="bob",
        ),
        NOW,
        timedelta(hours=1),
    )
    assert request.action_sha256 == action_digest(request.actions, request.handle)
    _retarget(tmp_path / "approvals.db", request.id, "fraud-0042")
    with pytest.raises(ConflictError, match="void"):
        queue.decide(request.id, "carol", True, NOW, None)
    assert queue.get(request.id).status == "pending"
    assert queue.decide(request.id, "carol", False, NOW, "tampered").status == "rejected"


@pytest.mark.slow
def test_a_remediation_approval_for_other_actions_is_void(full_world: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(full_world, data, symlinks=True)
    with World(Settings(data_dir=data)) as world:
        [request] = world.approvals.requests(world.clock(), "pending")
        approved = world.approvals.decide(request.id, "carol", True, world.clock(), None)
        decision = approved.decision()
        assert decision is not None and decision.approved
        forged = decision.model_copy(update={"action_sha256": "0" * 64})
        champions = {m.name: m.aliases.get(CHAMPION) for m in world.registry.list_models()}
        jobs = [j.id for j in world.cluster.jobs()]
        with open_workflow(world, recorded_proposer=request.proposer) as wf:
            run = continue_with(forged, request.handle, wf.world, wf.graph)
        assert run.status == "rejected"
        kinds = [r.kind for r in world.audit.records(incident=request.incident_id)]
        assert "approval_void" in kinds and "action" not in kinds
        assert champions == {m.name: m.aliases.get(CHAMPION) for m in world.registry.list_models()}
        assert [j.id for j in world.cluster.jobs()] == jobs, "a retraining job was submitted"


@pytest.mark.slow
def test_an_approved_chat_request_changed_before_it_runs_does_not_run(
    full_world: Path, tmp_path: Path
) -> None:
    from agents.assistant.execute import ChatPort, execute_approved

    data = tmp_path / "data"
    shutil.copytree(full_world, data, symlinks=True)
    with World(Settings(data_dir=data)) as world:
        model = world.registry.list_models()[0]
        new = NewRequest(
            key="chat:test",
            agent="assistant",
            action="chat rollback",
            actions=[_rollback(model.name)],
            models=[model.name],
            reasons=["prod"],
            verdict="needs_approval",
            proposer="bob",
        )
        request = world.approvals.submit(new, world.clock(), timedelta(hours=1))
        approved = world.approvals.decide(request.id, "carol", True, world.clock(), None)
        other = world.registry.list_models()[1].name
        changed = approved.model_copy(update={"actions": [_rollback(other)]})
        before = {m.name: m.aliases.get(CHAMPION) for m in world.registry.list_models()}
        records = len(world.audit.records())
        port = ChatPort(world.registry, world.cluster, world.audit, world.gate())
        with pytest.raises(ConflictError, match="void"):
            execute_approved(changed, port)
        assert before == {m.name: m.aliases.get(CHAMPION) for m in world.registry.list_models()}
        assert len(world.audit.records()) == records, "nothing was executed or audited as done"
