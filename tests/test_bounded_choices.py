"""An LLM tier's remediation choice is bounded by the incident: an action outside the kind's
admissible set (more invasive, or one that leaves a needed fix undone) falls back to tier 0."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import get_args

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from agents.remediation.executor import RemediationWorld
from agents.remediation.graph import build_graph, checkpoint_serde
from agents.remediation.plan import ADMISSIBLE, TABLE, Action, admissible
from agents.remediation.runner import RunOutcome, remediate
from llm.call import LlmContext
from llm.doubles import ScriptedChatModel, say
from llm.tiers import LlmTier
from llm.usage import UsageLedger
from memory.audit import AuditRecord
from tests.support.cli import shared_data_dir
from tests.support.worlds import opened_copy
from tools.domain import Environment
from tools.drift.incidents import Incident, IncidentKind
from tools.policy.action import ActionKind, ProposedAction
from tools.registry import CHAMPION, rollback_target
from world.remediation import remediation_port
from world.world import World

pytestmark = pytest.mark.slow

TIER = LlmTier(name="small", base_url="http://unused/v1", model="qwen")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_data_dir(tmp_path_factory, models=30, seed=3)


@pytest.fixture
def world(seeded: Path, tmp_path: Path) -> Iterator[World]:
    with opened_copy(seeded, tmp_path) as opened:
        yield opened


def run_with_llm(
    world: World, kind: IncidentKind, model: str, chosen: Action
) -> tuple[RemediationWorld, RunOutcome, UsageLedger]:
    """Remediate one incident of `kind` on `model` while the LLM tier answers `chosen`."""
    llm_model = ScriptedChatModel(
        [say(json.dumps({"action": chosen.value, "reason": "the evidence says so"}))]
    )
    ledger = UsageLedger()
    port = remediation_port(world)
    graph = build_graph(
        port,
        LlmContext(tier=TIER, model=llm_model, ledger=ledger),
        "bob",
        InMemorySaver(serde=checkpoint_serde()),
    )
    incident = Incident(
        id=f"inc-bounded-{kind}",
        kind=kind,
        probable_cause=f"{kind} on {model}",
        pipeline=world.registry.get_model(model).pipeline,
        models=[model],
        window_start=world.clock(),
    )
    [outcome] = remediate([incident], port, graph, "bob")
    llm_model.assert_complete()
    return port, outcome, ledger


def decision(port: RemediationWorld, incident_id: str) -> AuditRecord:
    [record] = [r for r in port.audit.records(incident=incident_id) if r.kind == "decision"]
    return record


def rollback_allowed_on_test(world: World) -> str:
    """A test-env model with an earlier champion whose rollback the gate lets through."""
    gate = world.gate()
    for m in world.registry.list_models():
        target = rollback_target(world.registry, m.name, m.aliases.get(CHAMPION))
        if m.env is not Environment.TEST or target is None:
            continue
        action = ProposedAction(
            kind=ActionKind.ROLLBACK,
            proposer="bob",
            model=m.name,
            version=target.version,
            alias=CHAMPION,
        )
        if gate.review(action).verdict == "allow":
            return m.name
    raise AssertionError("the seeded fleet has no test model the gate lets roll back")


def prod_model(world: World) -> str:
    return next(m.name for m in world.registry.list_models() if m.env is Environment.PROD)


def test_a_rollback_chosen_for_covariate_drift_is_not_executed(world: World) -> None:
    name = rollback_allowed_on_test(world)
    before = world.registry.get_model(name).aliases[CHAMPION]
    port, outcome, ledger = run_with_llm(world, "covariate_drift", name, Action.ROLLBACK)
    assert world.registry.get_model(name).aliases[CHAMPION] == before, "rolled back"
    assert (outcome.status, outcome.action) == ("done", "watch")
    assert name in port.store.watched()
    record = decision(port, outcome.incident_id)
    assert record.data["tier"] == "tier0"
    assert record.data["llm_choice"] == "rollback"
    assert record.data["fallback"] == (
        "llm chose rollback, not admissible for covariate_drift "
        "(admissible: open_data_incident, watch)"
    )
    assert [(r.outcome, r.tier) for r in ledger.records][-1] == ("fallback", "tier0")
    assert port.audit.verify().ok


def test_a_data_incident_chosen_for_a_prod_performance_drop_does_not_suppress_the_retrain(
    world: World,
) -> None:
    name = prod_model(world)
    port, outcome, _ = run_with_llm(
        world, "drift_with_performance_drop", name, Action.OPEN_DATA_INCIDENT
    )
    # the retrain path: a prod model waits for a human instead of a data incident
    assert (outcome.status, outcome.action) == ("waiting_approval", "retrain")
    assert outcome.approval_id is not None
    assert port.store.data_incidents() == []
    assert port.store.quarantined() == []
    record = decision(port, outcome.incident_id)
    assert (record.data["tier"], record.data["llm_choice"]) == ("tier0", "open_data_incident")
    assert "not admissible for drift_with_performance_drop" in str(record.data["fallback"])


def test_an_admissible_choice_is_kept(world: World) -> None:
    name = prod_model(world)
    port, outcome, _ = run_with_llm(
        world, "drift_with_performance_drop", name, Action.RETRAIN_WITH_REVIEW
    )
    assert (outcome.status, outcome.action) == ("waiting_approval", "retrain_with_review")
    record = decision(port, outcome.incident_id)
    assert record.data["tier"] == "small"
    assert record.data["llm_choice"] == "retrain_with_review"
    assert record.data["fallback"] is None


def test_every_kind_admits_its_tier0_action_and_nothing_more_invasive() -> None:
    kinds = set(get_args(IncidentKind))
    assert set(TABLE) == set(ADMISSIBLE) == kinds
    for kind in kinds:
        assert TABLE[kind][0] in admissible(kind), kind
    assert Action.ROLLBACK not in admissible("covariate_drift")
    assert admissible("concept_drift") == {Action.RETRAIN_WITH_REVIEW}
    # an estimate from prediction scores (labels delayed) never changes a model
    assert admissible("estimated_performance_drop") == {Action.WATCH}
    assert not admissible("drift_with_performance_drop") & {
        Action.WATCH,
        Action.OPEN_DATA_INCIDENT,
    }
