"""The compliance reviewer: exact findings for known gaps, policy files, the action gate."""

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.compliance.export import to_html, to_markdown
from tests.support.cli import copy_data_dir, run_lotsen, shared_data_dir
from tools.catalog import ALL_TOOLS, READ_ONLY_TOOLS, ToolContext
from tools.cluster.sim import SimCluster
from tools.domain import AiActRisk, Environment
from tools.errors import ConfigError
from tools.policy import tags
from tools.policy.action import ActionKind, ProposedAction
from tools.policy.checks import CHECKS
from tools.policy.evaluate import ComplianceReport, scan_compliance
from tools.policy.gaps import inject_gap
from tools.policy.gate import ComplianceGate
from tools.policy.spec import load_policies
from tools.policy.tool_gate import ComplianceToolGate
from tools.registry.mlflow_registry import MlflowRegistry
from tools.runtime import ToolRunner
from world.settings import Settings
from world.world import World

HIGH_RISK_PROD = "fraud-0004"
"""In the 30-model seed-3 fleet: prod, high-risk, several versions, no challenger."""


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_data_dir(tmp_path_factory, models=30, seed=3)


@pytest.fixture
def platform(seeded: Path, tmp_path: Path) -> Iterator[tuple[MlflowRegistry, SimCluster]]:
    copy = tmp_path / "data"
    shutil.copytree(seeded, copy, symlinks=True)
    with World(Settings(data_dir=copy)) as world:
        cluster = world.cluster
        assert isinstance(cluster, SimCluster)
        yield world.registry, cluster


def failures(report: ComplianceReport) -> set[tuple[str, str]]:
    return {(f.policy_id, f.subject) for f in report.failures()}


def test_the_seeded_fleet_is_compliant_and_every_policy_is_checked(
    platform: tuple[MlflowRegistry, SimCluster],
) -> None:
    registry, cluster = platform
    report = scan_compliance(registry, cluster)
    assert failures(report) == set()
    high_risk = [m for m in registry.list_models() if m.ai_act_risk is AiActRisk.HIGH]
    summary = report.summary()
    assert summary["AIA-04"]["pass"] == len(high_risk) > 0
    assert summary["SEG-01"]["pass"] == len(cluster.namespaces())
    prod = [d for d in cluster.deployments() if d.env is Environment.PROD]
    assert summary["SEG-05"]["pass"] == len(prod)
    assert all(sum(c.values()) > 0 for c in summary.values()), "a policy checked nothing"


def _prod_ns(registry: MlflowRegistry, model: str) -> str:
    m = registry.get_model(model)
    assert m.env is not None
    return f"{m.owner}-{m.env.value}"


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("overseer_missing", {"AIA-04"}),
        ("logging_off", {"AIA-01"}),
        ("short_retention", {"AIA-01"}),
        ("pmm_missing", {"AIA-05"}),
        ("rollback_untested", {"AIA-03"}),
        ("substantial_modification", {"AIA-07"}),
        ("failed_data_checks", {"AIA-08"}),
        ("unapproved_promotion", {"AIA-06", "SEG-05@dep"}),
        ("alias_changed_outside", {"AIA-02", "AIA-06", "SEG-05@dep"}),
        ("prod_not_champion", {"SEG-05@dep"}),
    ],
)
def test_each_model_gap_gives_exactly_its_findings(
    platform: tuple[MlflowRegistry, SimCluster], kind: str, expected: set[str]
) -> None:
    registry, cluster = platform
    inject_gap(kind, HIGH_RISK_PROD, registry, cluster)
    dep = f"{_prod_ns(registry, HIGH_RISK_PROD)}/{HIGH_RISK_PROD}"
    want = {
        (p.removesuffix("@dep"), dep if p.endswith("@dep") else HIGH_RISK_PROD) for p in expected
    }
    assert failures(scan_compliance(registry, cluster)) == want


def test_each_cluster_gap_gives_exactly_its_findings(
    platform: tuple[MlflowRegistry, SimCluster],
) -> None:
    registry, cluster = platform
    prod_dep = next(d for d in cluster.deployments() if d.env is Environment.PROD)
    test_ns = next(ns.name for ns in cluster.namespaces() if ns.env is Environment.TEST)
    prod_ns = next(ns.name for ns in cluster.namespaces() if ns.env is Environment.PROD)
    dev_ns = next(ns.name for ns in cluster.namespaces() if ns.env is Environment.DEV)
    prod_pool = next(p.name for p in cluster.node_pools() if p.env is Environment.PROD)
    cases = [
        ("namespace_unlabelled", dev_ns, "", {("SEG-01", dev_ns)}),
        ("shared_identity", prod_ns, test_ns, {("SEG-03", prod_ns), ("SEG-03", test_ns)}),
        ("network_open", test_ns, "", {("SEG-04", test_ns)}),
        ("stale_access_review", dev_ns, "400", {("ACC-01", dev_ns)}),
        (
            "foreign_image",
            f"{prod_dep.namespace}/{prod_dep.name}",
            "",
            {("SEG-02", f"{prod_dep.namespace}/{prod_dep.name}")},
        ),
        ("pool_untainted", prod_pool, "", {("SEG-07", prod_pool)}),
        ("quota_raise", prod_ns, "1000", {("SEG-08", "prod")}),
    ]
    for kind, target, value, want in cases:
        cluster.reset()
        inject_gap(kind, target, registry, cluster, value)
        assert failures(scan_compliance(registry, cluster)) == want, kind


def test_a_time_sliced_gpu_shared_with_another_env_is_found(
    platform: tuple[MlflowRegistry, SimCluster],
) -> None:
    registry, cluster = platform
    test_ns = next(ns.name for ns in cluster.namespaces() if ns.env is Environment.TEST)
    inject_gap("time_sliced_cross_env", test_ns, registry, cluster)
    found = scan_compliance(registry, cluster).failures()
    assert [f.policy_id for f in found] == ["SEG-06"]
    node, gpu = found[0].subject.split("/gpu")
    shared = next(
        g for g in next(n for n in cluster.nodes() if n.name == node).gpus if g.index == int(gpu)
    )
    assert {s.occupant.namespace for s in shared.slots if s.occupant} >= {test_ns}
    assert "dev" in found[0].message and "test" in found[0].message


def test_a_check_that_throws_is_an_error_finding_and_the_scan_goes_on(
    platform: tuple[MlflowRegistry, SimCluster], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object) -> list[str]:
        raise KeyError("oops")

    monkeypatch.setitem(CHECKS, "broken", broken)
    extra = tmp_path / "p.yaml"
    extra.write_text(
        "policies:\n  - id: TST-01\n    title: broken\n    rationale: test\n"
        "    reference: none\n    severity: low\n    scope: pool\n    check: broken\n"
    )
    registry, cluster = platform
    report = scan_compliance(registry, cluster, policies=load_policies([extra]))
    errors = [f for f in report.findings if f.status == "error"]
    assert {f.policy_id for f in errors} == {"TST-01"}
    assert len(errors) == len(cluster.node_pools())
    assert "KeyError" in errors[0].message
    assert report.summary()["SEG-01"]["pass"] > 0


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policies.yaml"
    path.write_text(text)
    return path


GOOD = (
    "policies:\n"
    "  - id: ORG-01\n"
    "    title: Our own rule\n"
    "    rationale: because\n"
    "    reference: internal\n"
    "    severity: {severity}\n"
    "    scope: model\n"
    "    check: named_tag\n"
    "    params: {{tag: cost_center}}\n"
)


def test_policy_file_errors_name_file_line_and_field(tmp_path: Path) -> None:
    bad = _write(tmp_path, GOOD.format(severity="urgent"))
    with pytest.raises(ConfigError, match=r"policies\.yaml:6: policies\.0\.severity"):
        load_policies([bad])
    bad = _write(tmp_path, "policies:\n  - id: ORG-01\n    title: [unclosed\n")
    with pytest.raises(ConfigError, match=r"policies\.yaml:\d+: not valid YAML"):
        load_policies([bad])
    bad = _write(tmp_path, GOOD.format(severity="low").replace("named_tag", "no_such_check"))
    with pytest.raises(ConfigError, match="unknown check 'no_such_check'"):
        load_policies([bad])
    bad = _write(
        tmp_path,
        GOOD.format(severity="low").replace(
            "scope: model", "scope: pool\n    when: {ai_act_risk: [high]}"
        ),
    )
    with pytest.raises(ConfigError, match="do not apply to scope pool"):
        load_policies([bad])
    with pytest.raises(ConfigError, match="cannot read"):
        load_policies([tmp_path / "missing.yaml"])


def test_user_policies_add_rules_and_override_shipped_thresholds(
    platform: tuple[MlflowRegistry, SimCluster], tmp_path: Path
) -> None:
    registry, cluster = platform
    own = _write(tmp_path, GOOD.format(severity="low"))
    stricter = tmp_path / "stricter.yaml"
    shipped = next(p for p in load_policies() if p.id == "AIA-01")
    stricter.write_text(
        "policies:\n"
        f"  - {{id: AIA-01, title: Logs kept 400 days, rationale: our DPO, reference: DPO-7,"
        " severity: critical,"
        f" scope: model, when: {{ai_act_risk: [high]}}, check: {shipped.check},"
        " params: {min_retention_days: 400}}\n"
    )
    policies = load_policies([own, stricter])
    report = scan_compliance(registry, cluster, policies=policies)
    summary = report.summary()
    models = registry.list_models()
    assert summary["ORG-01"]["fail"] == len(models)
    high = sum(m.ai_act_risk is AiActRisk.HIGH for m in models)
    assert summary["AIA-01"]["fail"] == high
    assert any("less than 400" in f.message for f in report.for_subject(HIGH_RISK_PROD))


def _gate(platform: tuple[MlflowRegistry, SimCluster]) -> ComplianceGate:
    registry, cluster = platform
    return ComplianceGate(registry, cluster)


def test_gate_allows_a_low_risk_dev_change_and_asks_a_human_for_prod(
    platform: tuple[MlflowRegistry, SimCluster],
) -> None:
    registry, _ = platform
    gate = _gate(platform)
    dev = next(
        m
        for m in registry.list_models()
        if m.env is Environment.DEV and m.ai_act_risk is not AiActRisk.HIGH
    )
    assert gate.review(
        ProposedAction(kind=ActionKind.ROLLBACK, proposer="a", model=dev.name)
    ).allowed
    decision = gate.review(
        ProposedAction(kind=ActionKind.ROLLBACK, proposer="a", model=HIGH_RISK_PROD)
    )
    assert decision.verdict == "needs_approval"
    assert set(decision.policies) == {"AIA-06", "SEG-05"}
    # prod alone, without high risk, still needs a human
    prod = next(
        m
        for m in registry.list_models()
        if m.env is Environment.PROD and m.ai_act_risk is not AiActRisk.HIGH
    )
    decision = gate.review(ProposedAction(kind=ActionKind.ROLLBACK, proposer="a", model=prod.name))
    assert decision.verdict == "needs_approval"
    assert set(decision.policies) == {"SEG-05"}


def test_gate_denies_promotions_the_policies_forbid(
    platform: tuple[MlflowRegistry, SimCluster],
) -> None:
    registry, _ = platform
    gate = _gate(platform)

    def promote(version: int, model: str = HIGH_RISK_PROD) -> set[str]:
        decision = gate.review(
            ProposedAction(
                kind=ActionKind.SET_ALIAS,
                proposer="a",
                model=model,
                version=version,
                alias="champion",
            )
        )
        human = {"AIA-06", "SEG-05"}  # prod + high-risk: always a human, never a denial
        return set(decision.policies) - human if decision.verdict == "deny" else set()

    assert promote(1) == set(), "v1 passed checks and came from test: a human may decide"
    registry.set_version_tag(HIGH_RISK_PROD, 1, tags.DATA_CHECKS, "failed")
    assert promote(1) == {"AIA-08"}
    registry.set_version_tag(HIGH_RISK_PROD, 1, tags.DATA_CHECKS, "passed")
    registry.set_version_tag(HIGH_RISK_PROD, 1, tags.CHANGE_KIND, "new_algorithm")
    assert promote(1) == {"AIA-07"}
    registry.set_version_tag(HIGH_RISK_PROD, 1, tags.SIGNOFF, "conformity review CR-9 by dpo")
    assert promote(1) == set()
    registry.set_version_tag(HIGH_RISK_PROD, 1, "lineage.promoted_from", "dev")
    denied = gate.review(
        ProposedAction(
            kind=ActionKind.SET_ALIAS,
            proposer="a",
            model=HIGH_RISK_PROD,
            version=1,
            alias="champion",
        )
    )
    assert denied.verdict == "deny"
    assert any("[SEG-05] v1 was not validated in test" in r for r in denied.reasons)
    assert promote(9) == {"GATE"}
    assert promote(1, "no-such-model") == {"GATE"}


def test_gate_blocks_promotion_of_retrains_outside_the_change_plan(
    platform: tuple[MlflowRegistry, SimCluster],
) -> None:
    decision = _gate(platform).review(
        ProposedAction(
            kind=ActionKind.RETRAIN, proposer="a", model=HIGH_RISK_PROD, change_kind="new_features"
        )
    )
    assert decision.verdict == "needs_approval"
    assert decision.promotion_blocked
    assert "AIA-07" in decision.policies


def test_gate_asks_a_human_when_the_target_fails_a_critical_policy(
    platform: tuple[MlflowRegistry, SimCluster],
) -> None:
    registry, cluster = platform
    test_ns = next(ns.name for ns in cluster.namespaces() if ns.env is Environment.TEST)
    prod_ns = next(ns.name for ns in cluster.namespaces() if ns.env is Environment.PROD)
    action = ProposedAction(kind=ActionKind.SCALE, proposer="a", namespace=test_ns)
    assert _gate(platform).review(action).allowed
    inject_gap("shared_identity", test_ns, registry, cluster, prod_ns)
    decision = _gate(platform).review(action)
    assert decision.verdict == "needs_approval"
    assert decision.policies == ["SEG-03"]


def test_reports_for_auditors_list_the_failures(
    platform: tuple[MlflowRegistry, SimCluster],
) -> None:
    registry, cluster = platform
    inject_gap("overseer_missing", HIGH_RISK_PROD, registry, cluster)
    report = scan_compliance(registry, cluster)
    markdown, html = to_markdown(report), to_html(report)
    assert f"| AIA-04 | critical | {HIGH_RISK_PROD} | fail |" in markdown
    assert (
        HIGH_RISK_PROD in html and "<script" not in html and "http" not in html.split("<body>")[0]
    )


def test_tool_calls_pass_the_environment_limit_and_the_gate(
    platform: tuple[MlflowRegistry, SimCluster],
) -> None:
    registry, cluster = platform
    runner = ToolRunner(
        ALL_TOOLS,
        ToolContext(registry=registry, cluster=cluster),
        gate=ComplianceToolGate(ComplianceGate(registry, cluster), proposer="chat:alice"),
    )
    models = {m.name: m for m in registry.list_models()}
    dev = next(
        d
        for d in cluster.deployments()
        if d.env is Environment.DEV and models[d.model].ai_act_risk is not AiActRisk.HIGH
    )
    prod = next(d for d in cluster.deployments() if d.env is Environment.PROD)
    ok = runner.call(
        "scale_deployment", {"namespace": dev.namespace, "name": dev.name, "replicas": 2}
    )
    assert ok.status == "ok"
    assert cluster.deployment(dev.namespace, dev.name).replicas == 2
    refused = runner.call(
        "scale_deployment", {"namespace": prod.namespace, "name": prod.name, "replicas": 0}
    )
    assert refused.status == "error" and "needs a human approval" in (refused.error or "")
    assert cluster.deployment(prod.namespace, prod.name).replicas == prod.replicas
    wrong_env = runner.call(
        "submit_retrain_job", {"namespace": prod.namespace, "model": prod.model}
    )
    assert "may only touch dev, test; this call targets prod" in (wrong_env.error or "")
    assert cluster.jobs() == []
    before = registry.get_model(HIGH_RISK_PROD).aliases
    promote = runner.call(
        "set_model_alias", {"name": HIGH_RISK_PROD, "alias": "champion", "version": 1}
    )
    assert promote.status == "error"
    assert registry.get_model(HIGH_RISK_PROD).aliases == before


def test_compliance_findings_tool_returns_the_gap(
    platform: tuple[MlflowRegistry, SimCluster],
) -> None:
    registry, cluster = platform
    inject_gap("logging_off", HIGH_RISK_PROD, registry, cluster)
    runner = ToolRunner(READ_ONLY_TOOLS, ToolContext(registry=registry, cluster=cluster))
    result = runner.call("compliance_findings", {})
    assert result.status == "ok"
    rows = json.loads(result.model_dump_json())["data"]
    assert [(f["policy_id"], f["subject"]) for f in rows] == [("AIA-01", HIGH_RISK_PROD)]
    verdict = runner.call("review_action", {"kind": "rollback", "model": HIGH_RISK_PROD})
    assert json.loads(verdict.model_dump_json())["data"]["verdict"] == "needs_approval"


def test_compliance_cli_scan_explain_and_bad_input(
    seeded: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    copy_data_dir(seeded, tmp_path, monkeypatch)
    assert run_lotsen(capsys, monkeypatch, "compliance", "scan", "--fail-on", "high")[0] == 0
    code, _, _ = run_lotsen(
        capsys, monkeypatch, "compliance", "inject-gap", "logging_off", HIGH_RISK_PROD
    )
    assert code == 0
    html = tmp_path / "report.html"
    code, out, err = run_lotsen(
        capsys,
        monkeypatch,
        "compliance",
        "scan",
        "--json",
        "--html",
        str(html),
        "--fail-on",
        "high",
    )
    assert code == 1 and "1 finding(s) at high or worse" in err
    failed = [f for f in json.loads(out)["findings"] if f["status"] == "fail"]
    assert [(f["policy_id"], f["subject"]) for f in failed] == [("AIA-01", HIGH_RISK_PROD)]
    assert "inference logging is not on" in html.read_text()
    code, out, _ = run_lotsen(
        capsys, monkeypatch, "compliance", "explain", HIGH_RISK_PROD, "--tier", "0", "--json"
    )
    explained = json.loads(out)
    assert code == 0 and explained["tier"] == "tier0"
    assert any(s.startswith("AIA-01:") for s in explained["explanation"]["next_steps"])
    code, _, err = run_lotsen(capsys, monkeypatch, "compliance", "explain", "no-such-thing")
    assert code == 2 and err.startswith("error: no policy applies to 'no-such-thing'")
    code, _, err = run_lotsen(capsys, monkeypatch, "compliance", "inject-gap", "bogus", "x")
    assert code == 2 and "unknown compliance gap 'bogus'" in err
    monkeypatch.setenv("LOTSEN_POLICY_FILES", json.dumps([str(tmp_path / "absent.yaml")]))
    code, _, err = run_lotsen(capsys, monkeypatch, "compliance", "policies")
    assert code == 2 and "cannot read" in err
