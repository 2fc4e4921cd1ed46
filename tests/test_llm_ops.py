"""`lotsen llm check|serve|tiers|metrics` and tier configuration."""

import json
import sys
from pathlib import Path

import pytest

from llm.check import check_tier
from llm.doubles import ScriptedOpenAIServer, ServerProfile
from llm.tiers import Capability, LlmTier
from llm.vllm_launch import VllmLaunch, tool_parser
from lotsen.cli.main import main
from tools.errors import ConfigError
from tools.vllm_metrics import parse_vllm_metrics, read_vllm_metrics
from world.llm import configured_tiers, llm_context
from world.settings import Settings


def results(
    profile: ServerProfile, model: str = "scripted-model"
) -> dict[str, tuple[bool, str, str]]:
    with ScriptedOpenAIServer(profile=profile) as server:
        report = check_tier(LlmTier(name="t", base_url=server.base_url, model=model))
    return {str(i.capability): (i.ok, i.detail, i.fix) for i in report.items}


def test_a_well_configured_server_passes_every_probe() -> None:
    found = results(ServerProfile())
    assert {k: v[0] for k, v in found.items()} == {
        "model": True,
        "chat": True,
        "tools": True,
        "json_schema": True,
    }
    assert "report_status" in found["tools"][1]


def test_missing_tool_flags_are_named() -> None:
    found = results(
        ServerProfile(models=["Qwen/Qwen2.5-7B-Instruct"], tool_calling=False),
        model="Qwen/Qwen2.5-7B-Instruct",
    )
    ok, detail, fix = found["tools"]
    assert not ok and "without --enable-auto-tool-choice" in detail
    assert "--enable-auto-tool-choice --tool-call-parser hermes" in fix
    assert found["chat"][0] and found["json_schema"][0]


def test_a_parser_that_does_not_match_the_model_is_named() -> None:
    found = results(
        ServerProfile(models=["meta-llama/Llama-3.1-8B-Instruct"], tool_parser_works=False),
        model="meta-llama/Llama-3.1-8B-Instruct",
    )
    ok, detail, fix = found["tools"]
    assert not ok and "came back as text" in detail and "--tool-call-parser llama3_json" in fix


def test_ignored_json_schema_is_reported() -> None:
    ok, detail, _ = results(ServerProfile(json_schema=False))["json_schema"]
    assert not ok and "not honoured" in detail


def test_wrong_model_and_unreachable_server(closed_port: int) -> None:
    assert results(ServerProfile(), model="gpt-9")["model"][:2] == (
        False,
        "the server serves ['scripted-model'], not 'gpt-9'",
    )
    report = check_tier(
        LlmTier(name="t", base_url=f"http://127.0.0.1:{closed_port}/v1", model="m", timeout_s=2)
    )
    assert [i.capability for i in report.items] == ["server"] and not report.ok


def test_check_is_not_failed_by_a_capability_the_tier_does_not_claim() -> None:
    with ScriptedOpenAIServer(profile=ServerProfile(tool_calling=False)) as server:
        tier = LlmTier(
            name="t",
            base_url=server.base_url,
            model="scripted-model",
            capabilities=frozenset({Capability.CHAT, Capability.JSON_SCHEMA}),
        )
        report = check_tier(tier)
    assert report.ok and not next(i for i in report.items if i.capability == "tools").ok


def run_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["lotsen", *args])
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_llm_check_cli_exit_codes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with (
        ScriptedOpenAIServer() as good,
        ScriptedOpenAIServer(profile=ServerProfile(tool_calling=False)) as bad,
    ):
        tiers = [
            {"name": "good", "base_url": good.base_url, "model": "scripted-model"},
            {"name": "bad", "base_url": bad.base_url, "model": "scripted-model"},
        ]
        monkeypatch.setenv("LOTSEN_LLM_TIERS", json.dumps(tiers))
        code, out, _ = run_cli(monkeypatch, capsys, "llm", "check", "--tier", "good", "--json")
        assert code == 0 and json.loads(out)[0]["ok"] is True
        code, out, _ = run_cli(monkeypatch, capsys, "llm", "check", "--json")
        assert code == 1 and [r["ok"] for r in json.loads(out)] == [True, False]
    code, _, err = run_cli(monkeypatch, capsys, "llm", "check", "--tier", "huge")
    assert code == 2 and "unknown LLM tier 'huge'; configured: good, bad" in err


def test_tiers_from_env_json_and_yaml_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "LOTSEN_LLM_TIERS",
        '[{"name": "s", "base_url": "http://h/v1", "model": "m", "api_key": "sk-s3cret"}]',
    )
    (tier,) = configured_tiers(Settings())
    assert tier.api_key is not None and tier.api_key.get_secret_value() == "sk-s3cret"
    assert "s3cret" not in repr(tier)
    monkeypatch.delenv("LOTSEN_LLM_TIERS")
    assert configured_tiers(Settings()) == [] and llm_context(Settings()) is None
    file = tmp_path / "tiers.yaml"
    file.write_text(
        "- {name: a, base_url: 'http://a/v1', model: qwen, cost_per_1k_input: 0.1}\n"
        "- {name: a, base_url: 'http://b/v1', model: llama}\n"
    )
    with pytest.raises(ConfigError, match="LLM tier 'a' is configured twice"):
        configured_tiers(Settings(llm_tiers_file=file))
    file.write_text("- {name: a, base_url: 'http://a/v1'}\n")
    with pytest.raises(ConfigError, match=r"tiers.yaml: tier 0.model: Field required"):
        configured_tiers(Settings(llm_tiers_file=file))
    file.write_text("- [unclosed\n")
    with pytest.raises(ConfigError, match="is not valid YAML"):
        configured_tiers(Settings(llm_tiers_file=file))


@pytest.mark.parametrize(
    ("model", "parser"),
    [
        ("Qwen/Qwen2.5-7B-Instruct", "hermes"),
        ("Qwen/Qwen3-8B", "hermes"),
        ("meta-llama/Llama-3.1-8B-Instruct", "llama3_json"),
        ("mistralai/Mistral-7B-Instruct-v0.3", "mistral"),
        ("ibm-granite/granite-3.1-8b-instruct", "granite"),
        ("openai/gpt-oss-20b", "openai"),
    ],
)
def test_tool_parser_by_family(model: str, parser: str) -> None:
    assert tool_parser(model) == parser


def test_serve_command_has_the_flags_that_make_tools_work() -> None:
    argv = VllmLaunch(model="Qwen/Qwen2.5-7B-Instruct", max_model_len=8192, port=8001).command(
        "vllm"
    )
    assert argv[:3] == ["vllm", "serve", "Qwen/Qwen2.5-7B-Instruct"]
    joined = " ".join(argv)
    for flag in (
        "--enable-auto-tool-choice",
        "--tool-call-parser hermes",
        "--enable-prefix-caching",
        "--max-model-len 8192",
        "--port 8001",
    ):
        assert flag in joined
    with pytest.raises(ConfigError, match="unknown model family"):
        VllmLaunch(model="acme/secret-model").command()


def test_serve_cli_without_vllm_or_gpu(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LOTSEN_VLLM_BIN", str(tmp_path / "missing" / "vllm"))
    code, out, _ = run_cli(monkeypatch, capsys, "llm", "serve", "Qwen/Qwen3-8B", "--dry-run")
    assert code == 0 and "--tool-call-parser hermes" in out
    code, _, err = run_cli(monkeypatch, capsys, "llm", "serve", "Qwen/Qwen3-8B")
    assert code == 2 and "vLLM is not installed" in err
    fake = tmp_path / "vllm"
    fake.write_text("#!/bin/sh\nexit 0\n")
    monkeypatch.setenv("LOTSEN_VLLM_BIN", str(fake))
    monkeypatch.setenv("PATH", str(tmp_path))  # no nvidia-smi here
    code, _, err = run_cli(monkeypatch, capsys, "llm", "serve", "Qwen/Qwen3-8B")
    assert code == 2 and "no NVIDIA GPU found" in err


V1_METRICS = """\
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{model_name="qwen"} 3.0
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{model_name="qwen"} 7.0
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{model_name="qwen"} 0.42
# TYPE vllm:prefix_cache_queries counter
vllm:prefix_cache_queries_total{model_name="qwen"} 1000.0
# TYPE vllm:prefix_cache_hits counter
vllm:prefix_cache_hits_total{model_name="qwen"} 250.0
"""


def test_vllm_metrics_v1_and_v0_names() -> None:
    m = parse_vllm_metrics(V1_METRICS)
    assert (m.requests_running, m.requests_waiting, m.kv_cache_usage, m.prefix_cache_hit_rate) == (
        3,
        7,
        0.42,
        0.25,
    )
    v0 = parse_vllm_metrics("vllm:gpu_cache_usage_perc 0.9\nvllm:gpu_prefix_cache_hit_rate 0.5\n")
    assert (v0.kv_cache_usage, v0.prefix_cache_hit_rate, v0.requests_running) == (0.9, 0.5, 0)


def test_vllm_metrics_over_http() -> None:
    with ScriptedOpenAIServer(profile=ServerProfile(metrics_text=V1_METRICS)) as server:
        snapshot = read_vllm_metrics(server.base_url.removesuffix("/v1") + "/metrics")
    assert snapshot.requests_waiting == 7


def test_usage_ledger_round_trip_and_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from llm.usage import UsageLedger, UsageRecord

    path = tmp_path / "llm_usage.jsonl"
    ledger = UsageLedger(path)
    ledger.add(
        UsageRecord(
            agent="retrainer",
            task="remediation",
            tier="small",
            input_tokens=100,
            output_tokens=20,
            cost=0.05,
        )
    )
    ledger.add(UsageRecord(agent="retrainer", task="remediation", tier="tier0", outcome="fallback"))
    with path.open("a") as handle:
        handle.write("{not json\n")
    loaded = UsageLedger.load(path)
    assert loaded.skipped == 1 and loaded.total_cost() == pytest.approx(0.05)
    assert [(s.tier, s.calls, s.failures) for s in loaded.summary()] == [
        ("small", 1, 0),
        ("tier0", 1, 1),
    ]
    monkeypatch.setenv("LOTSEN_DATA_DIR", str(tmp_path))
    code, out, _ = run_cli(monkeypatch, capsys, "llm", "usage", "--json")
    assert code == 0 and [r["tier"] for r in json.loads(out)] == ["small", "tier0"]
