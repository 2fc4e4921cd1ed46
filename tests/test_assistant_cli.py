"""`lotsen ask` and `lotsen chat` on a world on disk (no TTY, stdin lines)."""

import json
from pathlib import Path

import pytest

from llm.doubles import Reply, ScriptedOpenAIServer, ServerProfile
from tests.support.cli import copy_data_dir
from tests.support.cli import run_lotsen as lotsen
from tools.cluster.sim import SimCluster
from tools.fleet.spec import FleetSpec
from world.assistant import ask, assistant_port
from world.layout import configure_mlflow_env
from world.seeding import build_world
from world.settings import Settings
from world.world import World

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, small_fleet: FleetSpec) -> Path:
    configure_mlflow_env()
    data = tmp_path_factory.mktemp("assistant-cli") / "data"
    build_world(Settings(data_dir=data), small_fleet, force=False)
    return data


@pytest.fixture
def data(seeded: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("LOTSEN_LLM_TIERS", raising=False)
    return copy_data_dir(seeded, tmp_path, monkeypatch)


def replicas(data: Path) -> list[tuple[str, int]]:
    twin = SimCluster(data / "world" / "cluster.db")
    try:
        return [(d.name, d.replicas) for d in twin.deployments()]
    finally:
        twin.close()


def test_ask_json(
    data: Path,
    small_fleet: FleetSpec,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plan = small_fleet.models[0]
    code, out, _ = lotsen(capsys, monkeypatch, "ask", f"Who owns {plan.model.name}?", "--json")
    assert code == 0
    reply = json.loads(out)
    assert (reply["intent"], reply["tier"]) == ("owner", "tier0")
    assert reply["facts"]["owner"]["owner"] == plan.model.owner


def test_ask_a_change_proposes_it_and_changes_nothing(
    data: Path,
    small_fleet: FleetSpec,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dep = small_fleet.cluster.deployments[0]
    before = replicas(data)
    code, out, _ = lotsen(capsys, monkeypatch, "ask", f"scale {dep.model} to 0", "--as", "carol")
    assert code == 0
    assert "NOT executed" in out and f"{dep.namespace}/{dep.name}" in out
    assert replicas(data) == before


def test_chat_reads_stdin_until_exit(
    data: Path,
    small_fleet: FleetSpec,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second = small_fleet.models[0].model.name, small_fleet.models[1].model.name
    namespace = small_fleet.cluster.deployments[0].namespace
    lines = (
        f"who owns {first}\n\nand its alias history?\nquota of {namespace}\nexit\n"
        f"who owns {second}\n"
    )
    code, out, _ = lotsen(capsys, monkeypatch, "chat", "--json", stdin=lines)
    assert code == 0
    replies = [json.loads(line) for line in out.splitlines()]
    assert [(r["intent"], r["entities"][0]) for r in replies] == [
        ("owner", first),
        ("alias_history", first),
        ("quota", namespace),
    ]


def test_chat_in_text_until_eof(
    data: Path,
    small_fleet: FleetSpec,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = small_fleet.models[0].model.name
    code, out, _ = lotsen(capsys, monkeypatch, "chat", stdin=f"who owns {name}\nhelp")
    assert code == 0
    assert out.count("tier tier0") == 2 and "intent help" in out


def test_user_mistakes_are_one_line(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = lotsen(capsys, monkeypatch, "ask", "who owns x", "--tier", "large")
    assert code == 2 and err.startswith("error: unknown LLM tier 'large'") and out == ""
    monkeypatch.setenv("LOTSEN_DATA_DIR", str(tmp_path / "empty"))
    code, _, err = lotsen(capsys, monkeypatch, "ask", "who owns x")
    assert code == 2 and err.startswith("error: no fleet in") and err.count("\n") == 1


def test_ask_on_an_llm_tier_records_usage(
    data: Path,
    small_fleet: FleetSpec,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plan = small_fleet.models[0]
    script = [
        Reply(tool_calls=[("get_model", json.dumps({"name": plan.model.name}))]),
        Reply(content=f"{plan.model.name} belongs to {plan.model.owner}."),
    ]
    with ScriptedOpenAIServer(script, ServerProfile(auto=False)) as server:
        tiers = [{"name": "small", "base_url": server.base_url, "model": "scripted-model"}]
        monkeypatch.setenv("LOTSEN_LLM_TIERS", json.dumps(tiers))
        code, out, _ = lotsen(capsys, monkeypatch, "ask", f"who owns {plan.model.name}?", "--json")
        server.assert_complete()
    assert code == 0
    reply = json.loads(out)
    assert (reply["tier"], reply["entities"]) == ("small", [plan.model.name])
    usage = (data / "llm_usage.jsonl").read_text().splitlines()
    assert [json.loads(line)["agent"] for line in usage] == ["assistant", "assistant"]


def test_open_assistant_reads_the_world_without_creating_state(data: Path) -> None:
    with World(Settings(data_dir=data)) as world:
        ctx = assistant_port(world, user="dave")
        assert (ctx.store, ctx.audit, ctx.approvals, ctx.llms, ctx.user) == (
            None,
            None,
            None,
            (),
            "dave",
        )
        assert ctx.pipelines
    assert not (data / "world" / "remediation.db").exists()
    assert not (data / "state" / "audit.db").exists()
    assert not (data / "state" / "approvals.db").exists()


def test_chat_fails_fast_on_an_unknown_tier(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = lotsen(capsys, monkeypatch, "chat", "--tier", "large", stdin="help\n")
    assert code == 2 and out == "" and err.startswith("error: unknown LLM tier 'large'")


def test_ask_helper_for_evals(data: Path, small_fleet: FleetSpec) -> None:
    plan = small_fleet.models[0]
    with World(Settings(data_dir=data)) as world:
        reply = ask(world, f"Who owns {plan.model.name}?", tier="0")
    assert (reply.intent, reply.entities[0]) == ("owner", plan.model.name)
