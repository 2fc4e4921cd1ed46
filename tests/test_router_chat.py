"""The chat router wired into the assistant: decisions in the ledger and audit log."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agents.router.chat import AUDIT_KIND, REGISTRY_FILE, health_from_ledger
from agents.router.registry import Outcome, TierInfo, learn
from llm.doubles import Reply, ScriptedOpenAIServer, ServerProfile
from llm.usage import UsageLedger, UsageRecord
from tests.support.cli import copy_data_dir
from tools.fleet.spec import FleetSpec
from world.assistant import ask, assistant_port
from world.layout import configure_mlflow_env
from world.seeding import build_world
from world.settings import Settings
from world.world import World

pytestmark = pytest.mark.slow

CLASS = "assistant/answer:registry"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, small_fleet: FleetSpec) -> Path:
    configure_mlflow_env()
    data = tmp_path_factory.mktemp("router-chat") / "data"
    build_world(Settings(data_dir=data), small_fleet, force=False)
    return data


@pytest.fixture
def data(seeded: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("LOTSEN_LLM_TIERS", raising=False)
    return copy_data_dir(seeded, tmp_path, monkeypatch)


def write_registry(data: Path, tier0_wins: int, task_class: str = CLASS) -> None:
    """Tier 0 measured at tier0_wins/40 on `task_class`, the LLM tiers at 38/40."""
    rows = [
        Outcome(case=f"{tier}-{i}", task_class=task_class, tier=tier, passed=i < wins)
        for tier, wins in (("tier0", tier0_wins), ("small", 38), ("large", 38))
        for i in range(40)
    ]
    tiers = [TierInfo(name=n) for n in ("tier0", "small", "large")]
    learn(rows, tiers, sources=["test"]).save(data / REGISTRY_FILE)


def settings(data: Path, *urls: str) -> Settings:
    tiers = [
        {"name": name, "base_url": url, "model": "scripted-model"}
        for name, url in zip(("small", "large"), urls, strict=False)
    ]
    return Settings(data_dir=data, llm_tiers=tiers)


def audit_routes(world: World) -> list[dict[str, object]]:
    return [r.data for r in world.audit.records() if r.kind == AUDIT_KIND]


def test_a_measured_tier0_answers_what_it_parses_and_the_decision_is_recorded(
    data: Path, small_fleet: FleetSpec
) -> None:
    write_registry(data, tier0_wins=40)
    name = small_fleet.models[0].model.name
    with ScriptedOpenAIServer([], ServerProfile(auto=False)) as server:
        with World(settings(data, server.base_url)) as world:
            world.audit.records()  # the audit log exists, so decisions are recorded
            reply = ask(world, f"Who owns {name}?")
            routes = audit_routes(world)
        server.assert_complete()
    assert reply.tier == "tier0"
    assert [(r["task_class"], r["tier"]) for r in routes] == [(CLASS, "tier0")]
    usage = [json.loads(x) for x in (data / "llm_usage.jsonl").read_text().splitlines()]
    assert [(u["tier"], u["route"].split(":")[0]) for u in usage] == [("tier0", "assistant/answer")]


def test_a_question_the_grammar_cannot_parse_goes_to_an_llm_tier(data: Path) -> None:
    write_registry(data, tier0_wins=40)
    with ScriptedOpenAIServer(
        [Reply(content="Nothing I can see.")], ServerProfile(auto=False)
    ) as server:
        with World(settings(data, server.base_url)) as world:
            world.audit.records()
            reply = ask(world, "hmm, anything weird with the owners lately, blorp?")
            routes = audit_routes(world)
        server.assert_complete()
    assert reply.tier == "small"
    assert routes[0]["features"] == ["no_grammar_match"]
    usage = [json.loads(x) for x in (data / "llm_usage.jsonl").read_text().splitlines()]
    assert usage[0]["tier"] == "small"
    assert "ruled out" not in usage[0]["route"] and usage[0]["route"].startswith(CLASS)


def test_a_tier_whose_last_call_failed_is_routed_around(data: Path, small_fleet: FleetSpec) -> None:
    write_registry(data, tier0_wins=10)
    UsageLedger(data / "llm_usage.jsonl").add(
        UsageRecord(
            agent="assistant", task="chat", tier="small", outcome="error", detail="ConnectError"
        )
    )
    name = small_fleet.models[0].model.name
    with (
        ScriptedOpenAIServer([], ServerProfile(auto=False)) as small,
        ScriptedOpenAIServer(
            [Reply(content=f"{name} is owned by a team.")], ServerProfile(auto=False)
        ) as large,
    ):
        with World(settings(data, small.base_url, large.base_url)) as world:
            world.audit.records()
            reply = ask(world, f"Who owns {name}?")
            routes = audit_routes(world)
        small.assert_complete()
        large.assert_complete()
    assert reply.tier == "large"
    assert routes[0]["routed_around"] == ["small"]


def test_without_a_registry_the_cheapest_llm_tier_answers_as_before(
    data: Path, small_fleet: FleetSpec
) -> None:
    name = small_fleet.models[0].model.name
    with ScriptedOpenAIServer([Reply(content=f"{name}.")], ServerProfile(auto=False)) as server:
        with World(settings(data, server.base_url)) as world:
            reply = ask(world, f"Who owns {name}?")
        server.assert_complete()
    assert reply.tier == "small"


def test_health_from_ledger_uses_only_the_latest_recent_call() -> None:
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    old = UsageRecord(
        at=datetime(2026, 12, 1, 11, tzinfo=UTC), agent="a", task="t", tier="big", outcome="error"
    )
    failed = UsageRecord(at=now, agent="a", task="t", tier="small", outcome="error", detail="x")
    recovered = UsageRecord(at=now, agent="a", task="t", tier="mid", outcome="error")
    ok = UsageRecord(at=now, agent="a", task="t", tier="mid", latency_s=2.0)
    health = health_from_ledger([old, failed, recovered, ok], now)
    assert set(health.down) == {"small"}
    assert health.latency_s == {"mid": 2.0}


def test_agents_get_their_tier_from_the_router(data: Path) -> None:
    with ScriptedOpenAIServer([], ServerProfile(auto=False)) as server:
        with World(settings(data, server.base_url)) as world:
            world.audit.records()
            priors = world.llm(task="retrainer/decide")
            write_registry(data, tier0_wins=40, task_class="retrainer/decide")
            measured = world.llm(task="retrainer/decide")
            named = world.llm("small", task="retrainer/decide")
            routes = audit_routes(world)
    assert priors is not None and priors.tier.name == "small"
    assert priors.route.startswith("retrainer/decide: small")
    assert measured is None
    assert named is not None and named.route == ""
    assert [(r["task_class"], r["tier"]) for r in routes] == [
        ("retrainer/decide", "small"),
        ("retrainer/decide", "tier0"),
    ]
    usage = [json.loads(x) for x in (data / "llm_usage.jsonl").read_text().splitlines()]
    assert [(u["agent"], u["tier"]) for u in usage] == [("retrainer", "tier0")]


def test_tier0_only_builds_no_router_and_records_no_decision(
    data: Path, small_fleet: FleetSpec
) -> None:
    name = small_fleet.models[0].model.name
    with World(Settings(data_dir=data)) as world:
        world.audit.records()
        assert assistant_port(world).router is None
        reply = ask(world, f"Who owns {name}?")
        assert world.llm(task="retrainer/decide") is None
        routes = audit_routes(world)
    assert (reply.tier, routes) == ("tier0", [])
    assert not (data / "llm_usage.jsonl").exists()
