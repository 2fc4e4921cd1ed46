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
from agents.remediation.plan import Action
from agents.remediation.trainers import RUN_TAG, Comparison, TrainerChoice
from agents.remediation.trainers.synthetic import SyntheticTrainer
from memory.approvals import Decision
from tests.support.cli import shared_data_dir
from tests.support.plans import plan
from tests.support.worlds import opened_copy
from tools.domain import AiActRisk, Environment, RegisteredModel
from tools.policy import tags
from tools.registry import CHALLENGER, CHAMPION
from world.remediation import remediation_port
from world.world import World

pytestmark = pytest.mark.slow

CHAMPION_AUC = 0.80


class FixedScorer:
    """Scores the challenger `lead` above the champion on the same held-out rows."""

    def __init__(self, lead: float) -> None:
        """`lead` < PROMOTION_MARGIN: the challenger loses."""
        self.lead = lead

    def compare(self, model: RegisteredModel, champion: int | None, challenger: int) -> Comparison:
        """No scoring: the fixed scores."""
        return Comparison(
            metric="auc",
            champion=CHAMPION_AUC,
            challenger=CHAMPION_AUC + self.lead,
            holdout_rows=50,
            holdout="fixed",
        )


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_data_dir(tmp_path_factory, models=16, seed=4)


@pytest.fixture
def world(seeded: Path, tmp_path: Path) -> Iterator[World]:
    with opened_copy(seeded, tmp_path) as opened:
        yield opened


def port(world: World, lead: float) -> RemediationWorld:
    """The synthetic trainer (on the twin), scored `lead` above the champion."""
    trainer = SyntheticTrainer(world.registry)
    choice = TrainerChoice(trainer, FixedScorer(lead))
    return dataclasses.replace(remediation_port(world), trainers=lambda _: choice)


def pick(world: World, env: Environment) -> RegisteredModel:
    """A model in `env` that is not high-risk and has a champion."""
    return next(
        m
        for m in world.registry.list_models()
        if m.env is env and m.ai_act_risk is not AiActRisk.HIGH and CHAMPION in m.aliases
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
    assert "does not beat the champion" in summary
    # it was trained and registered, only kept back: the lost challenger holds no alias
    [trained] = [
        v
        for v in w.registry.all_versions(model.name)
        if v.tags.get(RUN_TAG) == f"inc-{model.name}:{model.name}:retrain"
    ]
    assert trained.version > model.aliases[CHAMPION]
    assert CHALLENGER not in w.registry.get_model(model.name).aliases


def test_a_challenger_that_beats_the_margin_is_promoted(world: World) -> None:
    """The same model and path as above: only the score differs."""
    model = pick(world, Environment.DEV)
    w = port(world, lead=PROMOTION_MARGIN * 2)
    summary, champion = retrain(w, model)
    assert champion is not None and champion > model.aliases[CHAMPION], summary
    # promoted: @challenger no longer marks it (nor anything else)
    assert CHALLENGER not in w.registry.get_model(model.name).aliases
    moves = [(c.alias, c.new_version) for c in w.registry.alias_history(model.name)]
    assert moves[-3:] == [(CHALLENGER, champion), (CHAMPION, champion), (CHALLENGER, None)]


def test_a_prod_promotion_without_its_own_approval_waits_at_challenger(world: World) -> None:
    model = pick(world, Environment.PROD)
    w = port(world, lead=PROMOTION_MARGIN * 2)
    summary, champion = retrain(w, model)
    assert champion == model.aliases[CHAMPION], summary
    assert "its promotion waits for its own approval" in summary
    assert w.registry.get_model(model.name).aliases[CHALLENGER] > model.aliases[CHAMPION]


def test_a_retrain_approval_does_not_promote_a_prod_challenger(world: World) -> None:
    """The retrain's approval covered training: the winner is pending, not promoted."""
    model = pick(world, Environment.PROD)
    w = port(world, lead=PROMOTION_MARGIN * 2)
    approval = Decision(request_id="apr-1", approved=True, by="alice", at=datetime.now(UTC))
    [result] = execute(
        plan(model.name),
        GateResult(verdict="needs_approval"),
        {model.name: model.aliases[CHAMPION]},
        w,
        pipeline=model.pipeline,
        window=datetime.now(UTC),
        cause="test",
        approval=approval,
    )
    assert result.ok and result.promotion is not None, result.summary
    assert w.registry.get_model(model.name).aliases[CHAMPION] == model.aliases[CHAMPION]
    challenger = result.promotion.version
    assert w.registry.get_model(model.name).aliases[CHALLENGER] == challenger
    assert tags.APPROVAL not in w.registry.get_version(model.name, challenger).tags
    assert result.promotion.challenger_score == CHAMPION_AUC + PROMOTION_MARGIN * 2
    assert result.promotion.champion_score == CHAMPION_AUC


def test_concept_drift_retrains_always_need_a_human(world: World) -> None:
    """On a model where the compliance gate alone allows the retrain."""
    model = pick(world, Environment.DEV)
    gate = remediation_port(world).compliance_gate()
    plain = review(plan(model.name, Action.RETRAIN), gate, "bob")
    assert plain.verdict == "allow", plain.reasons
    concept = review(plan(model.name, Action.RETRAIN_WITH_REVIEW), gate, "bob")
    assert concept.verdict == "needs_approval"
    assert "concept-drift retrains are reviewed by a human" in concept.reasons
