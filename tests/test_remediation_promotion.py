"""The challenger gate and the promotion guards of the remediation executor and its gate.

Each test picks models whose other rules would not hide the one under test: a dev, not
high-risk model for the score margin and the concept-drift review (the compliance gate alone
would allow everything), a prod model that is not high-risk for the approval guard.
"""

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agents.remediation.executor import PROMOTION_MARGIN, RemediationWorld, execute
from agents.remediation.gate import GateResult, review
from agents.remediation.plan import Action, RemediationPlan
from agents.remediation.trainer import TrainResult
from memory.approvals import Decision
from tests.support.cli import init_data_dir
from tests.support.worlds import opened_copy
from tools.domain import AiActRisk, Environment, RegisteredModel
from tools.policy import tags
from tools.registry import CHALLENGER, CHAMPION
from world.remediation import remediation_port
from world.world import World

CHAMPION_AUC = 0.80


class FixedScoreTrainer:
    """Scores the challenger `lead` above the champion on the same held-out rows."""

    def __init__(self, lead: float) -> None:
        """`lead` < PROMOTION_MARGIN: the challenger loses."""
        self.lead = lead
        self.trained: list[str] = []

    def train(self, model: str, n_features: int, relation_changed: bool) -> TrainResult:
        """No training: the fixed scores."""
        self.trained.append(model)
        return TrainResult(
            metric="auc",
            challenger=CHAMPION_AUC + self.lead,
            champion=CHAMPION_AUC,
            train_rows=100,
            holdout_rows=50,
        )


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return init_data_dir(tmp_path_factory.mktemp("promotion") / "data", models=16, seed=4)


@pytest.fixture
def world(seeded: Path, tmp_path: Path) -> Iterator[World]:
    with opened_copy(seeded, tmp_path) as opened:
        yield opened


def port(world: World, lead: float) -> RemediationWorld:
    return dataclasses.replace(remediation_port(world), trainer=FixedScoreTrainer(lead))


def pick(world: World, env: Environment) -> RegisteredModel:
    """A model in `env` that is not high-risk and has a champion."""
    return next(
        m
        for m in world.registry.list_models()
        if m.env is env and m.ai_act_risk is not AiActRisk.HIGH and CHAMPION in m.aliases
    )


def plan(model: str, action: Action = Action.RETRAIN) -> RemediationPlan:
    return RemediationPlan(
        incident_id=f"inc-{model}",
        incident_kind="drift_with_performance_drop",
        action=action,
        models=[model],
        reason="test",
        decided_by="tier0",
    )


def retrain(
    w: RemediationWorld, model: RegisteredModel, approval: Decision | None = None
) -> tuple[str, int | None]:
    """Run the retrain step as the workflow would after an `allow`; (summary, champion)."""
    [result] = execute(
        plan(model.name),
        GateResult(verdict="allow"),
        {model.name: model.aliases[CHAMPION]},
        w,
        pipeline=model.pipeline,
        window=datetime.now(UTC),
        cause="test",
        approval=approval,
    )
    assert result.ok, result.summary
    return result.summary, w.registry.get_model(model.name).aliases.get(CHAMPION)


def test_a_challenger_that_does_not_beat_the_margin_is_not_promoted(world: World) -> None:
    model = pick(world, Environment.DEV)
    w = port(world, lead=PROMOTION_MARGIN / 2)
    summary, champion = retrain(w, model)
    assert champion == model.aliases[CHAMPION], summary
    assert "does not beat champion" in summary
    challenger = w.registry.get_model(model.name).aliases[CHALLENGER]
    assert challenger > model.aliases[CHAMPION]  # it was trained and registered, only kept back


def test_a_challenger_that_beats_the_margin_is_promoted(world: World) -> None:
    """The same model and path as above: only the score differs."""
    model = pick(world, Environment.DEV)
    w = port(world, lead=PROMOTION_MARGIN * 2)
    summary, champion = retrain(w, model)
    assert champion == w.registry.get_model(model.name).aliases[CHALLENGER], summary
    assert champion is not None and champion > model.aliases[CHAMPION]


def test_a_prod_promotion_without_the_approval_it_needs_does_not_happen(world: World) -> None:
    model = pick(world, Environment.PROD)
    w = port(world, lead=PROMOTION_MARGIN * 2)
    summary, champion = retrain(w, model)
    assert champion == model.aliases[CHAMPION], summary
    assert "needs a human approval the plan did not get" in summary


def test_a_prod_promotion_with_an_approval_goes_ahead(world: World) -> None:
    model = pick(world, Environment.PROD)
    w = port(world, lead=PROMOTION_MARGIN * 2)
    approval = Decision(request_id="apr-1", approved=True, by="alice", at=datetime.now(UTC))
    summary, champion = retrain(w, model, approval)
    assert champion is not None and champion > model.aliases[CHAMPION], summary
    assert w.registry.get_version(model.name, champion).tags[tags.APPROVAL] == "apr-1 by alice"


def test_concept_drift_retrains_always_need_a_human(world: World) -> None:
    """On a model where the compliance gate alone allows the retrain."""
    model = pick(world, Environment.DEV)
    gate = remediation_port(world).compliance_gate()
    plain = review(plan(model.name, Action.RETRAIN), gate, "bob")
    assert plain.verdict == "allow", plain.reasons
    concept = review(plan(model.name, Action.RETRAIN_WITH_REVIEW), gate, "bob")
    assert concept.verdict == "needs_approval"
    assert "concept-drift retrains are reviewed by a human" in concept.reasons
