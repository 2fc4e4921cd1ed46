"""One idle rule: every consumer (fleet status, planner, assistant, catalogue tools) agrees."""

from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import JsonValue

from agents.assistant import AssistantContext, answer
from agents.assistant.context import AssistantToolContext
from agents.assistant.tools import ASSISTANT_TOOLS
from agents.capacity.plan import build_plan
from tests.support.twin_specs import START, deployment, mig_request, tiny_spec
from tools.capacity.energy import CapacityConfig
from tools.capacity.idle import idle_for, is_idle
from tools.capacity.rightsizing import scale_to_zero_candidates
from tools.catalog import READ_ONLY_TOOLS, ToolContext
from tools.cluster.sim import SimCluster
from tools.domain import Deployment, Environment
from tools.fleet.status import fleet_status
from tools.registry import MlflowRegistry
from tools.runtime.runner import ToolRunner

PROD = Environment.PROD


def _quiet(name: str, days: float, replicas: int = 1) -> Deployment:
    return deployment(
        name,
        "growth-prod",
        PROD,
        mig_request("1g.10gb"),
        replicas=replicas,
        requests_per_s=0.0,
        last_request_at=START - timedelta(days=days),
    )


FLEET = [
    _quiet("quiet-7-1", 7.1),
    _quiet("quiet-7-0", 7.0),
    _quiet("quiet-6-9", 6.9),
    _quiet("scaled-to-zero", 30, replicas=0),
    deployment("no-data", "growth-prod", PROD, mig_request("1g.10gb"), requests_per_s=0.0,
               last_request_at=None),
    deployment("stale-but-busy", "growth-prod", PROD, mig_request("1g.10gb"),
               requests_per_s=3.0, last_request_at=START - timedelta(days=30)),
    deployment("busy", "growth-prod", PROD, mig_request("1g.10gb")),
]  # fmt: skip
"""The old definitions disagreed on all but `busy` and `quiet-7-1`."""


@pytest.fixture
def twin(tmp_path: Path) -> SimCluster:
    return SimCluster.create(tmp_path / "c.db", tiny_spec(FLEET))


def test_the_rule_on_each_edge() -> None:
    by_name = {d.name: d for d in FLEET}
    assert {d.name for d in FLEET if is_idle(d, START, 7)} == {"quiet-7-1", "quiet-7-0"}
    assert idle_for(by_name["no-data"], START) is None
    assert idle_for(by_name["stale-but-busy"], START) == timedelta(0)
    assert not is_idle(by_name["scaled-to-zero"], START, 7)
    assert is_idle(by_name["quiet-6-9"], START, 6.5)
    future = by_name["quiet-7-1"].model_copy(update={"last_request_at": START + timedelta(1)})
    assert idle_for(future, START) == timedelta(0)


def _names(rows: JsonValue, key: str = "name") -> set[str]:
    """Names of the idle rows of a tool (`deployment` holds `namespace/name`)."""
    assert isinstance(rows, list)
    return {
        str(r[key]).rsplit("/", 1)[-1] for r in rows if isinstance(r, dict) and r.get("idle", True)
    }


def _every_consumer(
    registry: MlflowRegistry, twin: SimCluster, config: CapacityConfig
) -> dict[str, object]:
    """What each consumer calls idle: deployment names (fleet status: a count)."""
    status = fleet_status(registry, twin, config)
    catalogue = ToolRunner(READ_ONLY_TOOLS, ToolContext(registry, twin, capacity=config))
    savings = catalogue.call("capacity_savings", {}).data
    assistant = AssistantContext(registry, twin, capacity=config)
    tool = ToolRunner(ASSISTANT_TOOLS, AssistantToolContext.of(assistant))
    listed = tool.call("idle_deployments", {}).data
    tier0 = answer("Which deployments are idle?", assistant).facts["idle"]
    assert isinstance(savings, dict) and isinstance(listed, dict) and isinstance(tier0, dict)
    stz = scale_to_zero_candidates(twin.deployments(), twin.now(), config)
    return {
        "fleet status (count)": sum(e.idle_deployments for e in status.envs),
        "scale_to_zero_candidates": {s.name for s in stz},
        "capacity plan": {s.name for s in build_plan(twin, config).scale_to_zero},
        "list_deployments(idle_only)": _names(
            catalogue.call("list_deployments", {"idle_only": True}).data
        ),
        "list_deployments idle flag": _names(catalogue.call("list_deployments", {}).data),
        "capacity_savings": _names(savings["scale_to_zero"], key="deployment"),
        "assistant idle_deployments tool": _names(listed["deployments"]),
        "assistant tier 0": _names(tier0["deployments"]),
    }


@pytest.mark.parametrize(
    ("idle_days", "expected"),
    [
        (7.0, {"quiet-7-1", "quiet-7-0"}),
        (6.5, {"quiet-7-1", "quiet-7-0", "quiet-6-9"}),
        (7.05, {"quiet-7-1"}),
    ],
)
def test_every_consumer_calls_the_same_deployments_idle(
    registry: MlflowRegistry, twin: SimCluster, idle_days: float, expected: set[str]
) -> None:
    found = _every_consumer(registry, twin, CapacityConfig(idle_days=idle_days))
    assert found == {
        name: len(expected) if name.endswith("(count)") else expected for name in found
    }


def test_the_assistant_may_ask_about_another_span_with_the_same_rule(
    registry: MlflowRegistry, twin: SimCluster
) -> None:
    ctx = AssistantContext(registry, twin, capacity=CapacityConfig(idle_days=7))
    reply = answer("Which deployments have had no traffic for 20 days?", ctx)
    idle = reply.facts["idle"]
    assert isinstance(idle, dict) and idle["days"] == 20 and idle["count"] == 0
    reply = answer("Which deployments have had no traffic for 6 days?", ctx)
    idle = reply.facts["idle"]
    assert isinstance(idle, dict) and isinstance(idle["deployments"], list)
    assert {r["name"] for r in idle["deployments"] if isinstance(r, dict)} == {
        "quiet-7-1",
        "quiet-7-0",
        "quiet-6-9",
    }
    assert "scale to zero waits for 7 days" in reply.text
