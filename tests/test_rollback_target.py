"""One rollback rule: champion goes back to where it pointed before its last move."""

from pathlib import Path
from types import SimpleNamespace
from typing import cast

from agents.assistant import AssistantContext, answer
from agents.remediation.executor import RemediationWorld, execute
from agents.remediation.gate import GateResult
from agents.remediation.plan import Action, RemediationPlan
from memory.audit import AuditLog
from tests.support.twin_specs import START, deployment, mig_request, tiny_spec
from tools.cluster.sim import SimCluster
from tools.domain import Environment, NewModel, NewVersion
from tools.registry import (
    CHAMPION,
    MlflowRegistry,
    RollbackSource,
    RollbackTarget,
    rollback_target,
)

MODEL = "churn-0001"


def _model(registry: MlflowRegistry, versions: int, champions: list[int]) -> None:
    """A prod model of team growth whose champion moved through `champions`, in order."""
    registry.register_model(
        NewModel(name=MODEL, owner="growth", env=Environment.PROD, pipeline="growth-features-00")
    )
    for _ in range(versions):
        registry.create_version(MODEL, NewVersion(metrics={"auc": 0.8}))
    for version in champions:
        registry.set_alias(MODEL, CHAMPION, version, actor="ci", reason="deploy")


def test_the_history_wins_where_numbers_and_history_disagree(registry: MlflowRegistry) -> None:
    _model(registry, versions=3, champions=[1, 3, 2])
    [last] = [c for c in registry.alias_history(MODEL) if c.new_version == 2]
    assert rollback_target(registry, MODEL) == RollbackTarget(
        model=MODEL,
        from_version=2,
        version=3,
        source=RollbackSource.ALIAS_HISTORY,
        change_seq=last.seq,
    )


def test_a_rerun_after_the_rollback_finds_the_same_target(registry: MlflowRegistry) -> None:
    _model(registry, versions=3, champions=[1, 3, 2])
    registry.set_alias(MODEL, CHAMPION, 3, actor="lotsen", reason="rollback")
    target = rollback_target(registry, MODEL, champion=2)
    assert target is not None and target.version == 3


def test_without_a_recorded_earlier_champion_numbers_decide_and_say_so(
    registry: MlflowRegistry,
) -> None:
    _model(registry, versions=3, champions=[3])
    target = rollback_target(registry, MODEL)
    assert target is not None
    assert (target.version, target.source, target.change_seq) == (
        2,
        RollbackSource.VERSION_NUMBERS,
        None,
    )
    assert "no earlier champion recorded" in target.describe()


def test_nothing_to_roll_back_to(registry: MlflowRegistry) -> None:
    _model(registry, versions=2, champions=[])
    assert rollback_target(registry, MODEL) is None
    registry.set_alias(MODEL, CHAMPION, 1, actor="ci", reason="deploy")
    assert rollback_target(registry, MODEL) is None


def test_remediation_and_the_assistant_roll_back_to_the_same_version(
    registry: MlflowRegistry, tmp_path: Path
) -> None:
    _model(registry, versions=3, champions=[1, 3, 2])
    twin = SimCluster.create(
        tmp_path / "c.db",
        tiny_spec([deployment(MODEL, "growth-prod", Environment.PROD, mig_request("1g.10gb"),
                              model_version=2)]),
    )  # fmt: skip
    proposal = answer(f"roll back {MODEL}", AssistantContext(registry, twin)).proposals
    assert [(p.model, p.version) for p in proposal] == [(MODEL, 3)]
    assert registry.get_model(MODEL).aliases[CHAMPION] == 2, "the assistant only proposes"

    audit = AuditLog(tmp_path / "audit.db")
    # _rollback reads only these parts of the world.
    world = SimpleNamespace(registry=registry, cluster=twin, audit=audit, clock=lambda: START)
    plan = RemediationPlan(
        incident_id="inc-1",
        incident_kind="bad_deploy",
        action=Action.ROLLBACK,
        models=[MODEL],
        reason="auc fell after the deploy",
        decided_by="tier0",
    )
    [result] = execute(
        plan,
        GateResult(verdict="allow"),
        {MODEL: 2},
        cast(RemediationWorld, world),
        pipeline=None,
        window=START,
        cause="bad deploy",
    )
    assert result.ok, result.summary
    assert registry.get_model(MODEL).aliases[CHAMPION] == 3
    assert twin.deployment("growth-prod", MODEL).model_version == 3
    assert "v2 -> v3 (champion before its last move" in result.summary
    audit.close()
