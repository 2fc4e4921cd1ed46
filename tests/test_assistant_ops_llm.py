"""The new operator tools through the tool loop: a scripted chat model calls each one on the
seeded full world and reads the same facts tier 0 answers with (expected values read from
the world, not typed in)."""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from langchain_core.messages import ToolMessage

from agents.assistant import AssistantAnswer, answer
from llm.call import LlmContext
from llm.doubles import ScriptedChatModel, call_tool, say
from llm.tiers import LlmTier
from llm.usage import UsageLedger
from tests.support.worlds import opened_copy
from tools.catalog.drift_tools import DRIFT_KINDS
from tools.cluster.sim import SimCluster
from tools.domain import Environment, JobSpec
from tools.fleet.layout import ENV_TAINT, TRAINING_REQUEST, TRAINING_TAINT
from tools.policy.spec import load_policies
from tools.registry import CHAMPION
from world.assistant import assistant_port
from world.monitoring import scan_fleet
from world.world import World

TIER = LlmTier(name="small", base_url="http://unused/v1", model="qwen")


@pytest.fixture
def world(full_world: Path, tmp_path: Path) -> Iterator[World]:
    with opened_copy(full_world, tmp_path) as opened:
        yield opened


def ask_through(world: World, tool: str, args: dict[str, object]) -> tuple[str, AssistantAnswer]:
    """One scripted turn calling `tool`, then an answer; the tool's output as the model saw it."""
    model = ScriptedChatModel([call_tool(tool, args), say("Answered from the tool.")])
    ctx = assistant_port(world, "carol")
    ctx.llms = (LlmContext(tier=TIER, model=model, ledger=UsageLedger()),)
    reply = answer("a question for the tool loop", ctx, tier="small")
    model.assert_complete()
    seen = model.calls[1].messages[-1]
    assert isinstance(seen, ToolMessage)
    return str(seen.content), reply


def _drifting(world: World) -> set[str]:
    incidents = scan_fleet(world, record=False).incidents
    return {m for i in incidents if i.kind in DRIFT_KINDS for m in i.models}


def _queued(world: World) -> str:
    namespace = next(
        ns.name for ns in world.cluster.namespaces() if ns.env is Environment.TEST and ns.gpu_quota
    )
    for n in range(12):
        world.cluster.submit_job(
            JobSpec(
                namespace=namespace,
                model="m",
                gpu=TRAINING_REQUEST,
                duration_s=3600,
                idempotency_key=f"llm-test:{n}",
                tolerations=[ENV_TAINT, TRAINING_TAINT],
            )
        )
    return world.cluster.jobs(namespace)[-1].id


def _lost_node(world: World) -> str:
    twin = world.cluster
    assert isinstance(twin, SimCluster)
    lost = twin.nodes(Environment.TEST)[0].name
    twin.inject_node_loss(lost)
    return lost


def _rolled_back(world: World) -> str:
    for model in world.registry.list_models():
        champion = model.aliases.get(CHAMPION)
        older = [
            v.version for v in world.registry.list_versions(model.name) if v.version != champion
        ]
        if champion is not None and older:
            world.registry.set_alias(
                model.name, CHAMPION, older[0], actor="alice", reason="rollback: AUC"
            )
            return model.name
    raise AssertionError("no model has a version to roll back to")


Case = Callable[[World], tuple[str, dict[str, object], list[str]]]
CASES: dict[str, Case] = {
    "drift_status": lambda w: ("drift_status", {}, sorted(_drifting(w))),
    "drift_status_one": lambda w: (
        "drift_status",
        {"models": [sorted(_drifting(w))[0]]},
        [sorted(_drifting(w))[0], '"drifting": true'],
    ),
    "list_nodes_down": lambda w: ("list_nodes", {"down_only": True}, [_lost_node(w)]),
    "get_job": lambda w: ("get_job", {"job_id": (job := _queued(w))}, [job, "queued"]),
    "policy_text": lambda w: (
        "policy_text",
        {"policy_id": "seg-05"},
        [next(p.title for p in load_policies() if p.id == "SEG-05")],
    ),
    "fleet_changes": lambda w: (
        "fleet_changes",
        {"since": "last 24 hours", "kind": "rollback"},
        [_rolled_back(w), "alice", "rollback: AUC"],
    ),
    "open_incidents": lambda w: (
        "open_incidents",
        {},
        [r.id for r in w.runs.incidents.occurrences() if r.status not in ("resolved", "closed")],
    ),
    "approval_status": lambda w: (
        "approval_status",
        {"request_id": (a := w.approvals.requests(w.clock(), "pending")[0]).id},
        [a.id, a.proposer, *a.reasons],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_new_tool_through_the_tool_loop(world: World, case: str) -> None:
    tool, args, expected = CASES[case](world)
    assert expected, "the world no longer has what this tool reports"
    seen, reply = ask_through(world, tool, args)
    assert (reply.tier, reply.fallback_reason) == ("small", None)
    assert [(c.name, c.status) for c in reply.tool_calls] == [(tool, "ok")]
    compact = seen.replace(" ", "")
    missing = [e for e in expected if e.replace(" ", "") not in compact]
    assert missing == []


def test_idle_nodes_through_the_tool_loop_are_listed_per_node(world: World) -> None:
    lost = _lost_node(world)
    expected = [
        n.name
        for n in world.cluster.nodes(Environment.TEST)
        if n.ready and any(g.allocated() == 0 for g in n.gpus)
    ]
    seen, _ = ask_through(world, "list_nodes", {"env": "test", "with_idle_gpus": True})
    compact = seen.replace(" ", "")
    assert expected and all(f'"node":"{name}"' in compact for name in expected)
    assert f'"node":"{lost}"' not in compact


@pytest.mark.parametrize(
    ("tool", "args", "error"),
    [
        ("policy_text", {"policy_id": "SEG-99"}, "unknown policy 'SEG-99'; known: ACC-01"),
        ("get_job", {"job_id": "job-99999"}, "call list_jobs for ids"),
        ("approval_status", {"request_id": "apr-0000000000"}, "call pending_approvals for ids"),
    ],
)
def test_a_wrong_id_is_an_error_the_model_can_correct(
    world: World, tool: str, args: dict[str, object], error: str
) -> None:
    seen, reply = ask_through(world, tool, args)
    assert [(c.name, c.status) for c in reply.tool_calls] == [(tool, "error")]
    assert error in seen
