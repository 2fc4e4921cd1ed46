"""Read once: a gate review reads each registered model a bounded number of times (on a
remote MLflow server every read is an HTTP request)."""

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import init_data_dir
from tests.support.counting_registry import ALL, CountingRegistry
from tools.policy.action import ActionKind, ProposedAction
from tools.policy.gate import ComplianceGate
from tools.registry import CHAMPION
from world.settings import Settings
from world.world import World

HIGH_RISK_PROD = "fraud-0004"
"""In the 30-model seed-3 fleet: prod, high-risk (every change needs a human)."""


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return init_data_dir(tmp_path_factory.mktemp("read-once") / "data", models=30, seed=3)


@pytest.fixture
def world(seeded: Path, tmp_path: Path) -> Iterator[World]:
    copy = tmp_path / "data"
    shutil.copytree(seeded, copy, symlinks=True)
    with World(Settings(data_dir=copy)) as opened:
        yield opened


def counting_gate(world: World, registry: CountingRegistry) -> ComplianceGate:
    """The world's gate (its policies, its clock) over the counted registry."""
    return ComplianceGate(registry, world.cluster, world.policies, now=world.clock())


def test_a_gate_review_reads_its_model_once(world: World) -> None:
    counted = CountingRegistry(world.registry)
    gate = counting_gate(world, counted)
    model = world.registry.get_model(HIGH_RISK_PROD)
    champion = model.aliases[CHAMPION]
    for action in (
        ProposedAction(kind=ActionKind.RETRAIN, proposer="bob", model=model.name),
        ProposedAction(
            kind=ActionKind.SET_ALIAS,
            proposer="bob",
            model=model.name,
            version=champion,
            alias=CHAMPION,
        ),
    ):
        counted.reset()
        gate.review(action)
        assert counted.reads == {
            ("get_model", model.name): 1,  # the gate's rules and every model policy
            ("all_versions", model.name): 1,  # the target version and the served ones
            ("alias_history", ALL): 1,
        }
