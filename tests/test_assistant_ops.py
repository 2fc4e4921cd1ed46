"""Tier 0 answers what operators ask: drift now, incidents, changes, jobs, nodes, policies,
approvals, cost, the greenest start, questions about a change, hand-offs, and "not understood".

Expected answers are read from the world itself (scan, registry, twin, queue), never typed in.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agents.assistant import AssistantContext, answer
from agents.assistant.history import time_range
from tests.support.worlds import opened_copy
from tools.catalog.drift_tools import DRIFT_KINDS
from tools.cluster.sim import SimCluster
from tools.domain import Environment, JobSpec, JobStatus
from tools.fleet.layout import ENV_TAINT, TRAINING_REQUEST, TRAINING_TAINT
from tools.policy.spec import load_policies
from tools.registry import CHALLENGER, CHAMPION
from world.assistant import assistant_port
from world.monitoring import scan_fleet
from world.world import World


@pytest.fixture
def world(full_world: Path, tmp_path: Path) -> Iterator[World]:
    with opened_copy(full_world, tmp_path) as opened:
        yield opened


def ctx_of(world: World) -> AssistantContext:
    return assistant_port(world, "carol")


def unchanged(world: World) -> object:
    return (
        {m.name: dict(m.aliases) for m in world.registry.list_models()},
        [(d.namespace, d.name, d.replicas) for d in world.cluster.deployments()],
        [(j.id, j.status) for j in world.cluster.jobs()],
    )


def test_drift_now_lists_only_the_drifting_models(world: World) -> None:
    incidents = scan_fleet(world, record=False).incidents
    drifting = {m for i in incidents if i.kind in DRIFT_KINDS for m in i.models}
    assert drifting, "the seeded faults no longer drift"
    reply = answer("Which models are drifting right now?", ctx_of(world), tier="0")
    assert reply.intent == "drift"
    assert set(reply.entities) == drifting
    assert len(world.registry.list_models()) > len(drifting)
    calm = next(m.name for m in world.registry.list_models() if m.name not in drifting)
    one = answer(f"is {calm} drifting?", ctx_of(world), tier="0")
    assert (one.intent, one.facts["drifting"], one.entities) == ("drift", [], [calm])
    assert "not drifting" in one.text
    hot = sorted(drifting)[0]
    named = answer(f"Is {hot} drifting?", ctx_of(world), tier="0")
    assert named.facts["drifting"] == [hot] and "incident inc-" in named.text


def test_drift_of_an_unknown_model_is_not_the_fleet(world: World) -> None:
    reply = answer("Is anomaly-0000 drifting?", ctx_of(world), tier="0")
    assert reply.intent == "unknown_model"
    assert "anomaly-0000" in reply.text and "drifting now" not in reply.text


def test_drift_without_telemetry_says_so(world: World) -> None:
    ctx = ctx_of(world)
    ctx.telemetry = None
    reply = answer("Which models are drifting right now?", ctx, tier="0")
    assert (reply.intent, reply.entities) == ("drift", [])
    assert "No telemetry" in reply.text


def test_incidents_say_why_and_what_was_done(world: World) -> None:
    records = [
        r for r in world.runs.incidents.occurrences() if r.status not in ("resolved", "closed")
    ]
    assert records
    reply = answer("Which incidents are open, and why?", ctx_of(world), tier="0")
    assert reply.intent == "incidents"
    assert {r.id for r in records} <= set(reply.entities)
    for r in records:
        assert r.probable_cause in reply.text and f"status {r.status}" in reply.text
    one = answer(f"what was done about {records[0].id}?", ctx_of(world), tier="0")
    assert one.facts["count"] == 1 and records[0].id in one.entities
    missing = answer("explain incident inc-00000000ff", ctx_of(world), tier="0")
    assert missing.facts["count"] == 0 and "I know no open incident" in missing.text


def test_changes_in_a_range_with_who_and_why(world: World) -> None:
    model = next(m for m in world.registry.list_models() if m.env is Environment.PROD and m.aliases)
    champion = model.aliases[CHAMPION]
    older = next(
        v.version for v in world.registry.list_versions(model.name) if v.version != champion
    )
    world.registry.set_alias(model.name, CHAMPION, older, actor="alice", reason="rollback: AUC")
    ctx = ctx_of(world)
    rolled = answer("Which model was rolled back and why?", ctx, tier="0")
    assert rolled.intent == "changes" and rolled.entities == [model.name]
    assert "alice" in rolled.text and "rollback: AUC" in rolled.text
    prod = answer("What changed in prod in the last 24 hours?", ctx, tier="0")
    assert model.name in prod.entities
    dev = answer("What changed in dev in the last 24 hours?", ctx, tier="0")
    assert model.name not in dev.entities
    by_bob = answer("what did bob change this week?", ctx, tier="0")
    assert model.name not in by_bob.entities


def test_time_ranges_follow_the_worlds_clock() -> None:
    monday_noon = datetime(2026, 11, 2, 12, tzinfo=UTC)  # a Monday
    thursday = monday_noon + timedelta(days=3)
    assert time_range("since monday", thursday).since == datetime(2026, 11, 2, tzinfo=UTC)
    assert time_range("in the last 24 hours", thursday).since == thursday - timedelta(hours=24)
    assert time_range("last 3 days", thursday).since == thursday - timedelta(days=3)
    assert time_range("yesterday", thursday).since == datetime(2026, 11, 4, tzinfo=UTC)
    assert time_range("anything at all", thursday).since is None


def _queue_jobs(world: World, count: int) -> None:
    namespace = next(
        ns.name for ns in world.cluster.namespaces() if ns.env is Environment.TEST and ns.gpu_quota
    )
    for n in range(count):
        world.cluster.submit_job(
            JobSpec(
                namespace=namespace,
                model="m",
                gpu=TRAINING_REQUEST,
                duration_s=2 * 3600,
                idempotency_key=f"test:{n}",
                tolerations=[ENV_TAINT, TRAINING_TAINT],
            )
        )


def test_job_status_and_the_queue(world: World) -> None:
    _queue_jobs(world, 12)
    queued = [j for j in world.cluster.jobs() if j.status is JobStatus.QUEUED]
    assert queued, "twelve jobs no longer fill the quota"
    first = queued[0]
    reply = answer(f"Status of {first.id}?", ctx_of(world), tier="0")
    assert reply.intent == "job_status" and first.id in reply.entities
    assert "queued" in reply.text and first.reason in reply.text
    listed = answer("Which jobs are queued?", ctx_of(world), tier="0")
    assert set(listed.facts["jobs"]) == {j.id for j in queued}  # type: ignore[arg-type]
    gone = answer("status of job-99999?", ctx_of(world), tier="0")
    assert gone.entities == [] and "There is no job job-99999" in gone.text
    green = answer("When is the greenest time for the queued jobs?", ctx_of(world), tier="0")
    assert green.intent == "greenest_time"
    assert set(green.facts["windows"]) == {j.id for j in queued}  # type: ignore[arg-type]


def test_nodes_down_and_idle_gpus_by_node(world: World) -> None:
    test_nodes = world.cluster.nodes(Environment.TEST)
    lost = test_nodes[-1].name
    twin = world.cluster
    assert isinstance(twin, SimCluster)
    twin.inject_node_loss(lost)
    down = answer("Which nodes are down?", ctx_of(world), tier="0")
    assert (down.intent, down.entities) == ("nodes", [lost])
    idle = answer("Which GPUs are idle in test?", ctx_of(world), tier="0")
    expected = [
        n.name
        for n in world.cluster.nodes(Environment.TEST)
        if n.ready and any(g.allocated() == 0 for g in n.gpus)
    ]
    assert idle.intent == "nodes" and idle.entities == expected
    assert lost not in idle.entities and f"{lost} (down)" in idle.text


def test_policy_text_and_an_unknown_policy(world: World) -> None:
    seg05 = next(p for p in load_policies() if p.id == "SEG-05")
    reply = answer("What does SEG-05 check?", ctx_of(world), tier="0")
    assert (reply.intent, reply.entities) == ("policy_text", ["SEG-05"])
    assert seg05.title in reply.text and seg05.rationale in reply.text
    unknown = answer("what does SEG-99 check?", ctx_of(world), tier="0")
    assert unknown.entities == [] and "There is no policy SEG-99" in unknown.text


def test_why_an_approval_waits(world: World) -> None:
    pending = world.approvals.requests(world.clock(), "pending")[0]
    reply = answer(f"Why is {pending.id} waiting?", ctx_of(world), tier="0")
    assert reply.intent == "approval_status" and pending.id in reply.entities
    assert pending.proposer in reply.text and "four eyes" in reply.text
    assert all(reason in reply.text for reason in pending.reasons)
    unknown = answer("why is apr-0000000000 waiting?", ctx_of(world), tier="0")
    assert "There is no approval request apr-0000000000" in unknown.text


def test_idle_cost_is_not_the_total_cost(world: World) -> None:
    reply = answer("How much do idle GPUs cost per day?", ctx_of(world), tier="0")
    assert reply.intent == "capacity"
    idle, total = reply.facts["idle_cost_per_day"], reply.facts["cost_per_day"]
    assert isinstance(idle, float) and isinstance(total, float) and 0 < idle < total
    assert reply.facts["currency"] == "EUR" and "Counted:" in reply.text
    assert f"Idle cost: {idle:g} EUR/day" in reply.text


def test_is_it_safe_to_roll_back_is_a_question_not_a_request(world: World) -> None:
    model = next(m.name for m in world.registry.list_models() if m.env is Environment.PROD)
    before = unchanged(world)
    reply = answer(f"Is {model} safe to roll back without a human?", ctx_of(world), tier="0")
    assert reply.intent == "what_if" and reply.proposals == []
    assert reply.facts["executed"] is False and "needs a human approval" in reply.text
    request = answer(f"roll back {model}", ctx_of(world), tier="0")
    assert request.intent == "change_request"
    assert unchanged(world) == before


@pytest.mark.parametrize(
    "question",
    [
        "is {name} safe to roll back without a human?",
        "would promoting {name} need an approval?",
        "would rolling back {name} need an approval?",
    ],
)
def test_a_question_about_a_change_to_an_unknown_model_says_the_model_is_unknown(
    world: World, question: str
) -> None:
    known = sorted(m.name for m in world.registry.list_models())
    missing = next(
        f"{known[0][:-4]}{n:04d}"
        for n in range(1, 10_000)
        if f"{known[0][:-4]}{n:04d}" not in known
    )
    before = unchanged(world)
    reply = answer(question.format(name=missing), ctx_of(world), tier="0")
    assert reply.intent == "unknown_model" and reply.proposals == []
    assert f"I know no model named '{missing}'" in reply.text
    assert reply.facts["unknown"] == [missing]
    assert unchanged(world) == before


@pytest.mark.parametrize(
    "question",
    ["what's the weather in Stockholm?", "tell me a joke", "asdf qwer zxcv"],
)
def test_a_question_it_does_not_understand_gets_not_understood(world: World, question: str) -> None:
    reply = answer(question, ctx_of(world), tier="0")
    assert (reply.intent, reply.entities) == ("unrecognised", [])
    assert reply.facts["understood"] is False
    assert "I did not understand" in reply.text and "What does SEG-05 check?" in reply.text


def test_scan_now_runs_the_monitor_read_only(world: World) -> None:
    incidents = scan_fleet(world, record=False).incidents
    target = next(i for i in incidents if i.pipeline)
    recorded = len(world.runs.incidents.occurrences())
    reply = answer(f"scan pipeline {target.pipeline} now", ctx_of(world), tier="0")
    assert reply.intent == "scan_now" and target.id in reply.entities
    expected = {i.id for i in incidents if i.pipeline == target.pipeline}
    assert {e for e in reply.entities if e.startswith("inc-")} == expected
    assert len(world.runs.incidents.occurrences()) == recorded  # nothing recorded


def test_plan_capacity_comes_back_as_proposals(world: World) -> None:
    before = unchanged(world)
    reply = answer("plan capacity for prod", ctx_of(world), tier="0")
    assert reply.intent == "plan_capacity" and reply.facts["executed"] is False
    assert reply.facts["actions"] == len(reply.proposals)
    assert unchanged(world) == before


def test_a_teams_open_incidents_are_only_those_touching_its_models(world: World) -> None:
    everything = answer("Which incidents are open?", ctx_of(world), tier="0")
    owners = {m.name: m.owner for m in world.registry.list_models()}
    opened: Any = everything.facts["incidents"]

    def of(team: str) -> list[str]:
        return [i["id"] for i in opened if any(owners.get(m) == team for m in i["models"])]

    team = min({owners[m] for i in opened for m in i["models"]}, key=lambda t: len(of(t)))
    reply = answer(f"which incidents are still open for the {team} team?", ctx_of(world), tier="0")
    mine: Any = reply.facts["incidents"]
    assert [i["id"] for i in mine] == of(team)
    assert 0 < len(of(team)) < len(opened)  # another team's incidents are left out


def test_a_teams_gpus_are_its_namespaces(world: World) -> None:
    namespaces = world.cluster.namespaces()
    team = next(ns.owner for ns in namespaces if ns.owner)
    reply = answer(f"how many GPUs does the {team} team use?", ctx_of(world), tier="0")
    owned = sorted(ns.name for ns in namespaces if ns.owner == team)
    assert (reply.intent, sorted(reply.entities)) == ("gpu", owned)
    held = sum(ns.gpu_used for ns in namespaces if ns.owner == team)
    assert reply.facts["gpu_equivalents"] == pytest.approx(held, abs=0.01)


def test_which_models_have_a_challenger(world: World) -> None:
    reply = answer("which prod models have a challenger waiting?", ctx_of(world), tier="0")
    expected = sorted(
        m.name
        for m in world.registry.list_models()
        if m.env is Environment.PROD and CHALLENGER in m.aliases
    )
    assert (reply.intent, reply.entities) == ("list_models", expected)


def test_what_needs_attention_counts_what_the_other_answers_list(world: World) -> None:
    node = next(d.placements[0].node for d in world.cluster.deployments() if d.placements)
    assert isinstance(world.cluster, SimCluster)
    world.cluster.inject_node_loss(node)
    ctx = ctx_of(world)
    reply = answer("what needs my attention today?", ctx, tier="0")
    assert reply.intent == "briefing"
    assert reply.facts["incidents"] == answer("which incidents are open?", ctx).facts["count"]
    assert reply.facts["approvals"] == answer("which approvals are pending?", ctx).facts["count"]
    down = sorted(n.name for n in world.cluster.nodes() if not n.ready)
    assert reply.facts["nodes_down"] == down and node in down
    unready = [d for d in world.cluster.deployments() if d.ready_replicas < d.replicas]
    assert reply.facts["unready_deployments"] == len(unready)
    listed = answer("which deployments are not ready?", ctx, tier="0")
    assert listed.intent == "unhealthy"
    assert listed.entities == sorted(f"{d.namespace}/{d.name}" for d in unready)


def test_models_per_team(world: World) -> None:
    reply = answer("how many models does each team own in prod?", ctx_of(world), tier="0")
    prod = [m.owner for m in world.registry.list_models() if m.env is Environment.PROD]
    expected = {team: prod.count(team) for team in set(prod)}
    assert (reply.intent, reply.facts["per_team"]) == ("models_per_team", expected)


def test_a_node_that_is_not_ready_is_a_node_question(world: World) -> None:
    reply = answer("is any dev node not ready?", ctx_of(world), tier="0")
    assert reply.intent == "nodes"


def test_watch_list_quarantine_and_broken_pipelines(world: World) -> None:
    ctx = ctx_of(world)
    watched = answer("which models are on the watch list?", ctx, tier="0")
    assert (watched.intent, watched.entities) == ("watch_list", sorted(world.runs.watched()))
    held = answer("what is quarantined?", ctx, tier="0")
    assert held.intent == "quarantine"
    assert held.facts["count"] == len(world.runs.quarantined())
    broken = answer("which pipelines are broken?", ctx, tier="0")
    incidents = scan_fleet(world, record=False).incidents
    expected = sorted({i.pipeline for i in incidents if i.kind == "data_quality" and i.pipeline})
    assert broken.intent == "pipeline_health" and expected
    assert set(expected) <= set(broken.entities)
    healthy = next(p.name for p in world.pipelines if p.name not in broken.entities)
    one = answer(f"is the {healthy} pipeline healthy?", ctx, tier="0")
    assert (one.entities, one.facts["count"]) == ([healthy], 0)
    sick = answer(f"is pipeline {expected[0]} healthy?", ctx, tier="0")
    assert (sick.entities, sick.facts["count"]) == ([expected[0]], 1)


def test_why_a_model_was_retrained_is_its_change_log(world: World) -> None:
    model = world.registry.list_models()[0].name
    reply = answer(f"why did {model} get retrained?", ctx_of(world), tier="0")
    assert reply.intent == "changes" and model in reply.entities


def test_what_to_do_about_a_model_and_whether_it_recovered(world: World) -> None:
    incidents = scan_fleet(world, record=False).incidents
    model = next(m for i in incidents if i.kind in DRIFT_KINDS for m in i.models)
    ctx = ctx_of(world)
    todo = answer(f"what should we do about {model}?", ctx, tier="0")
    assert todo.intent == "incidents" and model in todo.entities and todo.facts["count"] != 0
    wrong = answer(f"what's wrong with {model}?", ctx, tier="0")
    assert wrong.intent == "incidents"
    recovered = answer(f"has {model} recovered?", ctx, tier="0")
    assert recovered.intent == "drift" and recovered.facts["drifting"] == [model]


@pytest.mark.parametrize(
    "question",
    [
        "what would happen if we rolled back {name}?",
        "what if we promoted {name}?",
        "do we need an approval if we scale {name} to 0?",
        "what happens if someone retrains {name}?",
    ],
)
def test_a_hypothetical_change_is_reviewed_not_proposed(world: World, question: str) -> None:
    model = next(m.name for m in world.registry.list_models() if m.env is Environment.PROD)
    before = unchanged(world)
    reply = answer(question.format(name=model), ctx_of(world), tier="0")
    assert (reply.intent, reply.proposals, reply.facts["executed"]) == ("what_if", [], False)
    assert model in reply.entities and unchanged(world) == before
