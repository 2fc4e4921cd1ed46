"""Every bad input the review found (issue 13): one line, exit 2, nothing changed; no secret
in any message.

Each case ran into a traceback or a silently wrong result before the checks at the CLI
boundary, in the settings and in the file parsers.
"""

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from llm.doubles.openai_server import Reply, ScriptedOpenAIServer, ServerProfile
from llm.redact import redact
from tests.support.cli import copy_data_dir, init_data_dir, run_lotsen
from tests.support.fingerprint import changed, fingerprint
from tools.telemetry.reference_rows import MIN_REFERENCE_ROWS

pytestmark = pytest.mark.slow

KEY = "zzTopSecret-4c1d-9f7e-not-shaped-like-a-key"
"""An API key no pattern would recognise: only the configured value can redact it."""


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = init_data_dir(tmp_path_factory.mktemp("bad-input") / "data", models=12, seed=2)
    return data


@pytest.fixture
def data(seeded: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return copy_data_dir(seeded, tmp_path, monkeypatch)


def refused(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    data: Path | None,
    *args: str,
) -> str:
    """Run a command that must be refused; return its one-line error (state unchanged)."""
    before = fingerprint(data) if data is not None else {}
    code, _, err = run_lotsen(capsys, monkeypatch, *args)
    assert "Traceback" not in err
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    if data is not None:
        assert changed(before, fingerprint(data)) == []
    return err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["twin", "advance", "--hours", "nan"], "--hours must be a finite number"),
        (["twin", "advance", "--hours", "1e308"], "--hours must be a finite number"),
        (["telemetry", "simulate", "--windows", "0"], "--windows must be at least 1"),
        (["telemetry", "simulate", "--rows", "-1"], "--rows must be at least"),
        (["bench", "drift", "--models", "0"], "--models must be at least 1"),
        (["bench", "drift", "--fleet", "ten"], "--fleet must be comma-separated"),
        (["bench", "fleet", "--jobs", "0"], "--jobs must be at least 1"),
        (["twin", "fault", "quota-cut", "growth-test", "nan"], "GPUS must be a finite number"),
        (["twin", "fault", "quota-cut", "--", "growth-test", "-1"], "GPUS must be a finite number"),
        (["twin", "fault", "quota-cut", "growth-test", "1e9"], "a quota cut lowers the quota"),
        (
            ["twin", "fault", "noisy-neighbour", "dev-l4-shared-000", "0", "--factor", "nan"],
            "--factor must be a finite number >= 1",
        ),
        (
            ["twin", "submit-job", "--namespace", "growth-test", "--model", "no-such-model"],
            "no-such-model",
        ),
        (
            ["twin", "submit-job", "--namespace", "growth-test", "--model", "x", "--hours", "inf"],
            "--hours must be a finite number > 0",
        ),
        (["compliance", "check", "retrain", "--model", "no-such-model"], "no-such-model"),
        (["llm", "metrics", "nan"], "URL must be an http:// or https:// URL"),
        (["scan", "--feature", "f01"], "--feature needs --model"),
    ],
)
def test_bad_options_are_refused_before_any_change(
    data: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    message: str,
) -> None:
    assert message in refused(capsys, monkeypatch, data, *args)


def test_no_job_is_queued_for_a_model_that_does_not_exist(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["twin", "submit-job", "--namespace", "growth-test"]
    err = refused(capsys, monkeypatch, data, *args, "--model", "ghost-model")
    assert "unknown model 'ghost-model'" in err
    jobs = json.loads(run_lotsen(capsys, monkeypatch, "cluster", "jobs", "--json")[1])
    assert [j for j in jobs if j["spec"]["model"] == "ghost-model"] == []
    code, _, _ = run_lotsen(capsys, monkeypatch, *args, "--model", "credit-score-0000")
    assert code == 0


def test_an_absolute_scenario_path_is_a_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from evals.scenario import SCENARIO_DIR

    err = refused(capsys, monkeypatch, None, "eval", "run", str(tmp_path / "missing.yaml"))
    assert "no suite, scenario or path" in err
    scenario = sorted(SCENARIO_DIR.rglob("*.yaml"))[0].resolve()
    code, out, _ = run_lotsen(capsys, monkeypatch, "eval", "list", str(scenario), "--json")
    assert code == 0 and [s["id"] for s in json.loads(out)] == [scenario.stem]


def test_report_into_a_missing_folder_is_refused(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "no-such-folder" / "report.md"
    err = refused(capsys, monkeypatch, data, "compliance", "scan", "--markdown", str(target))
    assert f"folder {target.parent} does not exist" in err
    assert not target.parent.exists()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("LOTSEN_LLM_TIERS", "not json", "invalid setting LOTSEN_LLM_TIERS: not valid JSON"),
        ("LOTSEN_MLFLOW_URI", "bogus://x", "invalid setting LOTSEN_MLFLOW_URI"),
        (
            "LOTSEN_GPU_HOUR_PRICE",
            '{"H100-80GB": NaN, "A100-80GB": 1, "L4-24GB": 1}',
            "invalid setting LOTSEN_GPU_HOUR_PRICE.H100-80GB: Input should be a finite number",
        ),
        (
            "LOTSEN_GPU_HOUR_PRICE",
            '{"H100-80GB": -2, "A100-80GB": 1, "L4-24GB": 1}',
            "invalid setting LOTSEN_GPU_HOUR_PRICE.H100-80GB: Input should be greater than 0",
        ),
        ("LOTSEN_APPROVAL_TTL_HOURS", "inf", "invalid setting LOTSEN_APPROVAL_TTL_HOURS"),
        ("LOTSEN_KUBE_API_URL", "kube.local:6443", "invalid setting LOTSEN_KUBE_API_URL"),
    ],
)
def test_bad_settings_are_one_line(
    data: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    value: str,
    message: str,
) -> None:
    monkeypatch.setenv(name, value)
    assert message in refused(capsys, monkeypatch, data, "capacity", "report")


def test_a_binary_policy_file_is_named(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe" * 20)
    monkeypatch.setenv("LOTSEN_POLICY_FILES", json.dumps([str(policy)]))
    err = refused(capsys, monkeypatch, data, "compliance", "policies")
    assert f"cannot read {policy}: not a UTF-8 text file" in err


def test_a_binary_or_non_finite_carbon_curve_is_named(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    curve = tmp_path / "curve.yaml"
    monkeypatch.setenv("LOTSEN_CARBON_CURVE_FILE", str(curve))
    curve.write_bytes(b"\xff\xfe\x00" * 10)
    assert "not a UTF-8 text file" in refused(capsys, monkeypatch, data, "capacity", "report")
    curve.write_text(json.dumps([300] * 23).replace("]", ", .nan]"))
    assert "needs 24 non-negative" in refused(capsys, monkeypatch, data, "capacity", "report")


# --- telemetry: the reference and the windows --------------------------------------------


@pytest.fixture(scope="module")
def with_telemetry(seeded: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeded world with two windows of simulated telemetry and the demo faults."""
    import shutil

    from world.monitoring import simulate_telemetry
    from world.settings import Settings
    from world.world import World

    data = tmp_path_factory.mktemp("bad-input-telemetry") / "data"
    shutil.copytree(seeded, data, symlinks=True)
    with World(Settings(data_dir=data)) as world:
        simulate_telemetry(world, seed=7, windows=2, rows=2000, faults=True)
    return data


def _drifted(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> set[str]:
    code, out, _ = run_lotsen(capsys, monkeypatch, "scan", "--json")
    assert code == 0
    return {m for i in json.loads(out)["incidents"] for m in i["models"]}


def _features(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, model: str
) -> list[str]:
    out = run_lotsen(capsys, monkeypatch, "models", "show", model, "--json")[1]
    return str(json.loads(out)[0]["tags"]["features"]).split(",")


@pytest.mark.parametrize("kind", ["empty", "header_only", "too_few_rows", "lacks_features"])
def test_a_bad_reference_file_keeps_the_good_reference(
    with_telemetry: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
) -> None:
    data = copy_data_dir(with_telemetry, tmp_path, monkeypatch)
    incident_models = _drifted(capsys, monkeypatch)
    assert incident_models, "the demo faults make incidents"
    model = sorted(incident_models)[0]
    features = _features(capsys, monkeypatch, model)
    rows = {
        "empty": 0,
        "header_only": 0,
        "too_few_rows": MIN_REFERENCE_ROWS - 1,
        "lacks_features": 2000,
    }[kind]
    rng = np.random.default_rng(0)
    kept = features[:2] if kind == "lacks_features" else features
    frame = pd.DataFrame({f: rng.normal(0, 1, rows) for f in kept})
    path = tmp_path / "reference.csv"
    if kind == "empty":
        path.write_text("")
    else:
        frame.to_csv(path, index=False)
    err = refused(capsys, monkeypatch, data, "telemetry", "reference", model, str(path))
    assert str(path) in err
    assert model in _drifted(capsys, monkeypatch), "the real incident is still found"


def test_a_window_from_the_future_is_refused(
    with_telemetry: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = copy_data_dir(with_telemetry, tmp_path, monkeypatch)
    model = "credit-score-0000"
    rng = np.random.default_rng(1)
    features = _features(capsys, monkeypatch, model)
    path = tmp_path / "window.csv"
    pd.DataFrame({f: rng.normal(0, 1, 500) for f in features}).to_csv(path, index=False)
    args = ["telemetry", "ingest", model, str(path)]
    err = refused(capsys, monkeypatch, data, *args, "--window-start", "9999-12-31T00:00:00")
    assert "is in the future" in err
    err = refused(
        capsys, monkeypatch, data, *args, "--window-start", "2026-11-01", "--lag-hours", "nan"
    )
    assert "--lag-hours must be a finite number" in err


# --- secrets ------------------------------------------------------------------------------


def _tier_env(monkeypatch: pytest.MonkeyPatch, base_url: str) -> None:
    tier = {"name": "small", "base_url": base_url, "model": "scripted-model", "api_key": KEY}
    monkeypatch.setenv("LOTSEN_LLM_TIERS", json.dumps([tier]))


def _unauthorised() -> Reply:
    return Reply(status=401, error=f"Incorrect API key provided: {KEY}. Check your key.")


def test_a_key_echoed_by_the_server_reaches_no_answer_log_or_ledger(
    data: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with ScriptedOpenAIServer(
        [_unauthorised() for _ in range(3)], ServerProfile(auto=False)
    ) as server:
        _tier_env(monkeypatch, server.base_url)
        with caplog.at_level(logging.DEBUG):
            code, out, err = run_lotsen(
                capsys, monkeypatch, "ask", "Who owns credit-score-0000?", "--json"
            )
    assert code == 0, err
    answer = json.loads(out)
    assert "401" in answer["fallback_reason"] and "REDACTED" in answer["fallback_reason"]
    ledger = (data / "llm_usage.jsonl").read_text(encoding="utf-8")
    assert "Incorrect API key provided" in ledger
    for where, text in (("answer", out + err), ("log", caplog.text), ("ledger", ledger)):
        assert KEY not in text, f"the key leaked into the {where}"


def test_llm_check_json_shows_no_key(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LOTSEN_DATA_DIR", str(tmp_path))
    with ScriptedOpenAIServer([_unauthorised() for _ in range(3)]) as server:
        _tier_env(monkeypatch, server.base_url)
        code, out, _ = run_lotsen(capsys, monkeypatch, "llm", "check", "--json")
        server.assert_complete()
    assert code == 1
    details = [item["detail"] for report in json.loads(out) for item in report["items"]]
    assert any("Incorrect API key provided: [REDACTED]" in d for d in details)
    assert KEY not in out


def test_a_malformed_tiers_file_does_not_print_its_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    tiers = tmp_path / "tiers.yaml"
    tiers.write_text(
        "- name: small\n"
        "  base_url: http://127.0.0.1:8000/v1\n"
        f"  api_key: {KEY}: oops\n"
        "  model: qwen\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("LOTSEN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LOTSEN_LLM_TIERS_FILE", str(tiers))
    err = refused(capsys, monkeypatch, None, "llm", "tiers")
    assert f"{tiers} is not valid YAML (line 3" in err
    assert KEY not in err and "api_key" not in err


@pytest.mark.parametrize(
    "text",
    [
        "Incorrect API key provided: sk-proj-AbCdEf123456789. Find your key at ...",
        "Incorrect API key provided: sk-abc***********wxyz.",
        "upstream said: Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig",
        "tiers.yaml line 3: api_key: hunter2hunter2",
        'request {"api_key": "hunter2hunter2"} refused',
        "GET https://llm.example/v1/models?token=abc123abc123 -> 403",
    ],
)
def test_key_shaped_strings_are_redacted(text: str) -> None:
    cleaned = redact(text)
    assert "[REDACTED]" in cleaned
    for secret in ("AbCdEf123456789", "abc****", "eyJhbGci", "hunter2", "abc123abc123"):
        assert secret not in cleaned
