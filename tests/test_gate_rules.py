"""The compliance gate's rules one at a time, on a hand-made twin and the two registry reads
a review makes (one model, its versions): each rule's boundary, its exact reason (what the
approver reads) and how verdicts combine."""

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import cast

import pytest

from tests.support.twin_specs import A100, START, deployment, tiny_spec
from tools.cluster.sim import SimCluster
from tools.domain import (
    AiActRisk,
    ChangeKind,
    ChangePlan,
    Environment,
    Lineage,
    ModelVersion,
    Namespace,
    RegisteredModel,
)
from tools.errors import NotFoundError
from tools.policy import tags
from tools.policy.action import ActionKind, GateDecision, ProposedAction
from tools.policy.gate import ComplianceGate
from tools.policy.spec import Policy, Scope, Severity
from tools.registry import CHALLENGER, CHAMPION, ModelRegistry

UNLABELLED = "growth-sandbox"
"""A namespace of the twin without an env label."""
REVIEWED = "growth-audit"
"""A test namespace of the twin whose access was reviewed when the twin started."""


class _Registry:
    """The reads a gate review makes of a registry: one model, and that model's versions."""

    def __init__(self) -> None:
        self.models: dict[str, RegisteredModel] = {}
        self.versions: list[ModelVersion] = []
        self.version_reads: list[str | None] = []

    def get_model(self, name: str) -> RegisteredModel:
        if name not in self.models:
            raise NotFoundError(f"no model {name!r} in this registry")
        return self.models[name]

    def all_versions(self, model: str | None = None) -> list[ModelVersion]:
        self.version_reads.append(model)
        return [v for v in self.versions if model in (None, v.model)]


@pytest.fixture
def registry() -> _Registry:
    return _Registry()


@pytest.fixture
def twin(tmp_path: Path) -> Iterator[SimCluster]:
    spec = tiny_spec([deployment("churn", "growth-test", Environment.TEST, A100)])
    spec.namespaces.append(Namespace(name=UNLABELLED, env=None, owner="growth"))
    spec.namespaces.append(
        Namespace(name=REVIEWED, env=Environment.TEST, owner="growth", access_reviewed_at=START)
    )
    cluster = SimCluster.create(tmp_path / "twin.db", spec)
    yield cluster
    cluster.close()


def _model(
    registry: _Registry,
    name: str,
    env: Environment | None = Environment.DEV,
    risk: AiActRisk | None = AiActRisk.MINIMAL,
    plan: ChangePlan | None = None,
    contract_tags: dict[str, str] | None = None,
) -> str:
    """A registered model as the registry reads it (env/risk None: tag missing or unread)."""
    registry.models[name] = RegisteredModel(
        name=name,
        owner="growth",
        pipeline="p",
        env=env,
        ai_act_risk=risk,
        change_plan=plan,
        contract_tags=contract_tags or {},
    )
    return name


def _version(
    registry: _Registry,
    model: str,
    promoted_from: Environment | None = Environment.TEST,
    version_tags: dict[str, str] | None = None,
) -> int:
    """A new version that passed its data checks and came from test, unless told otherwise."""
    number = 1 + sum(v.model == model for v in registry.versions)
    registry.versions.append(
        ModelVersion(
            model=model,
            version=number,
            created_at=START,
            lineage=Lineage(promoted_from=promoted_from),
            tags={tags.DATA_CHECKS: "passed", **(version_tags or {})},
        )
    )
    return number


def review(
    registry: _Registry,
    twin: SimCluster,
    kind: ActionKind,
    policies: list[Policy] | None = None,
    **fields: object,
) -> GateDecision:
    """The gate's decision on one action, under `policies` (default: none, the rules only)."""
    gate = ComplianceGate(cast(ModelRegistry, registry), twin, policies or [])
    return gate.review(ProposedAction.model_validate({"kind": kind, "proposer": "bob", **fields}))


def promote(registry: _Registry, twin: SimCluster, model: str, version: int | None) -> GateDecision:
    return review(
        registry, twin, ActionKind.SET_ALIAS, model=model, version=version, alias=CHAMPION
    )


def test_an_action_on_nothing_named_is_allowed_and_says_so(
    registry: _Registry, twin: SimCluster
) -> None:
    decision = review(registry, twin, ActionKind.SUBMIT_JOB, [_critical(Scope.NAMESPACE)])
    assert decision == GateDecision(
        verdict="allow", reasons=["no policy requires a human"], policies=[]
    )


def test_a_low_risk_dev_model_changes_without_a_human(
    registry: _Registry, twin: SimCluster
) -> None:
    model = _model(registry, "churn")
    decision = review(registry, twin, ActionKind.ROLLBACK, model=model)
    assert decision == GateDecision(
        verdict="allow", reasons=["no policy requires a human"], policies=[]
    )


def test_an_unknown_model_is_denied_with_the_registrys_own_message(
    registry: _Registry, twin: SimCluster
) -> None:
    decision = review(registry, twin, ActionKind.ROLLBACK, model="ghost")
    assert decision == GateDecision(
        verdict="deny",
        reasons=["[GATE] no model 'ghost' in this registry"],
        policies=["GATE"],
    )


def test_prod_needs_a_human_and_the_reason_names_action_and_env(
    registry: _Registry, twin: SimCluster
) -> None:
    model = _model(registry, "churn", env=Environment.PROD)
    decision = review(registry, twin, ActionKind.ROLLBACK, model=model)
    assert decision == GateDecision(
        verdict="needs_approval",
        reasons=["[SEG-05] rollback touches prod: a human decides"],
        policies=["SEG-05"],
    )
    for env in (Environment.TEST, Environment.DEV):
        model = _model(registry, f"churn-{env.value}", env=env)
        assert review(registry, twin, ActionKind.ROLLBACK, model=model).verdict == "allow"


def test_high_risk_needs_a_human(registry: _Registry, twin: SimCluster) -> None:
    model = _model(registry, "fraud", risk=AiActRisk.HIGH)
    decision = review(registry, twin, ActionKind.ROLLBACK, model=model)
    assert decision == GateDecision(
        verdict="needs_approval",
        reasons=["[AIA-06] fraud is high-risk under the EU AI Act: a human decides"],
        policies=["AIA-06"],
    )
    limited = _model(registry, "ads", risk=AiActRisk.LIMITED)
    assert review(registry, twin, ActionKind.ROLLBACK, model=limited).verdict == "allow"


def test_env_and_risk_tags_not_understood_count_as_prod_and_high_risk_once(
    registry: _Registry, twin: SimCluster
) -> None:
    model = _model(
        registry,
        "churn",
        env=None,
        risk=None,
        contract_tags={"env": "staging2", "ai_act_risk": "meh"},
    )
    decision = review(registry, twin, ActionKind.ROLLBACK, model=model)
    assert decision == GateDecision(
        verdict="needs_approval",
        reasons=[
            "[TAG-01] ai_act_risk tag 'meh' not understood: treated as high-risk, a human decides",
            "[TAG-01] env tag 'staging2' not understood: treated as prod, a human decides",
        ],
        policies=["TAG-01"],
    )
    untagged = _model(registry, "fraud", env=None, risk=None)
    assert review(registry, twin, ActionKind.ROLLBACK, model=untagged).reasons == [
        "[TAG-01] ai_act_risk tag missing: treated as high-risk, a human decides",
        "[TAG-01] env tag missing: treated as prod, a human decides",
    ]


def test_a_models_own_env_decides_not_the_namespace_it_names(
    registry: _Registry, twin: SimCluster
) -> None:
    model = _model(registry, "churn")
    decision = review(registry, twin, ActionKind.SCALE, model=model, namespace="growth-prod")
    assert decision.verdict == "allow"


# --- namespaces ----------------------------------------------------------------------------


def test_a_prod_namespace_needs_a_human(registry: _Registry, twin: SimCluster) -> None:
    decision = review(registry, twin, ActionKind.SCALE, namespace="growth-prod")
    assert decision == GateDecision(
        verdict="needs_approval",
        reasons=["[SEG-05] scale touches prod: a human decides"],
        policies=["SEG-05"],
    )
    assert review(registry, twin, ActionKind.SCALE, namespace="growth-test").verdict == "allow"


def test_an_unknown_namespace_is_denied_and_the_reason_says_where_to_look(
    registry: _Registry, twin: SimCluster
) -> None:
    decision = review(registry, twin, ActionKind.SCALE, namespace="growth-stage")
    assert decision == GateDecision(
        verdict="deny",
        reasons=["[GATE] unknown namespace 'growth-stage'; `lotsen cluster namespaces` lists them"],
        policies=["GATE"],
    )


def test_a_namespace_without_env_label_needs_a_human(registry: _Registry, twin: SimCluster) -> None:
    decision = review(registry, twin, ActionKind.SCALE, namespace=UNLABELLED)
    assert decision == GateDecision(
        verdict="needs_approval",
        reasons=[f"[SEG-01] namespace {UNLABELLED} has no env label"],
        policies=["SEG-01"],
    )


# --- retraining and the change plan ------------------------------------------------------


def _outside_plan(model: str, kind: str) -> str:
    return (
        f"[AIA-07] retraining {model} as {kind} is outside its change plan: "
        "substantial modification, promotion blocked until signed off"
    )


def test_a_high_risk_model_without_plan_retrains_only_on_the_same_features(
    registry: _Registry, twin: SimCluster
) -> None:
    model = _model(registry, "fraud", risk=AiActRisk.HIGH)
    high = "[AIA-06] fraud is high-risk under the EU AI Act: a human decides"
    for same in (None, "retrain_same_features"):
        decision = review(registry, twin, ActionKind.RETRAIN, model=model, change_kind=same)
        assert (decision.reasons, decision.promotion_blocked) == ([high], False)
    decision = review(registry, twin, ActionKind.RETRAIN, model=model, change_kind="new_features")
    assert decision == GateDecision(
        verdict="needs_approval",
        reasons=[high, _outside_plan("fraud", "new_features")],
        policies=["AIA-06", "AIA-07"],
        promotion_blocked=True,
    )


def test_a_model_of_unknown_risk_without_plan_counts_as_high_risk_for_the_plan(
    registry: _Registry, twin: SimCluster
) -> None:
    model = _model(registry, "churn", risk=None)
    decision = review(registry, twin, ActionKind.RETRAIN, model=model, change_kind="new_features")
    assert decision.promotion_blocked
    assert decision.policies == ["TAG-01", "AIA-07"]


def test_a_low_risk_model_without_plan_may_retrain_any_way(
    registry: _Registry, twin: SimCluster
) -> None:
    model = _model(registry, "churn")
    decision = review(registry, twin, ActionKind.RETRAIN, model=model, change_kind="new_features")
    assert (decision.verdict, decision.promotion_blocked) == ("allow", False)


def test_a_change_plan_decides_which_retrains_are_within_it(
    registry: _Registry, twin: SimCluster
) -> None:
    plan = ChangePlan(allowed=(ChangeKind.RETRAIN_SAME_FEATURES, ChangeKind.NEW_FEATURES))
    model = _model(registry, "churn", plan=plan)
    for within in (None, "new_features"):
        decision = review(registry, twin, ActionKind.RETRAIN, model=model, change_kind=within)
        assert (decision.verdict, decision.promotion_blocked) == ("allow", False)
    decision = review(registry, twin, ActionKind.RETRAIN, model=model, change_kind="new_algorithm")
    assert decision == GateDecision(
        verdict="needs_approval",
        reasons=[_outside_plan("churn", "new_algorithm")],
        policies=["AIA-07"],
        promotion_blocked=True,
    )


def test_only_a_retrain_is_held_to_the_change_plan(registry: _Registry, twin: SimCluster) -> None:
    model = _model(registry, "churn", plan=ChangePlan())
    decision = review(registry, twin, ActionKind.ROLLBACK, model=model, change_kind="new_features")
    assert (decision.verdict, decision.promotion_blocked) == ("allow", False)


# --- promotion to @champion --------------------------------------------------------------


def test_in_dev_a_checked_version_is_promoted_without_a_human_or_a_test_stage(
    registry: _Registry, twin: SimCluster
) -> None:
    model = _model(registry, "churn")
    version = _version(registry, model, promoted_from=None)
    assert promote(registry, twin, model, version).verdict == "allow"


def test_a_version_that_does_not_exist_is_denied(registry: _Registry, twin: SimCluster) -> None:
    model = _model(registry, "churn")
    _version(registry, model)
    for number in (2, None):
        assert promote(registry, twin, model, number) == GateDecision(
            verdict="deny",
            reasons=[f"[GATE] churn has no version {number} to promote"],
            policies=["GATE"],
        )


def test_training_data_checks_must_have_passed(registry: _Registry, twin: SimCluster) -> None:
    model = _model(registry, "churn")
    failed = _version(registry, model, version_tags={tags.DATA_CHECKS: "failed"})
    assert promote(registry, twin, model, failed) == GateDecision(
        verdict="deny",
        reasons=["[AIA-08] v1 training-data checks: failed"],
        policies=["AIA-08"],
    )
    registry.versions.append(ModelVersion(model=model, version=2, created_at=START))
    assert promote(registry, twin, model, 2).reasons == [
        "[AIA-08] v2 training-data checks: not recorded"
    ]


def test_a_substantial_modification_needs_a_sign_off(registry: _Registry, twin: SimCluster) -> None:
    model = _model(registry, "fraud", risk=AiActRisk.HIGH)
    within = _version(registry, model, version_tags={tags.CHANGE_KIND: "retrain_same_features"})
    outside = _version(registry, model, version_tags={tags.CHANGE_KIND: "new_algorithm"})
    signed = _version(
        registry,
        model,
        version_tags={tags.CHANGE_KIND: "new_algorithm", tags.SIGNOFF: "CR-9 by dpo"},
    )
    high = "[AIA-06] fraud is high-risk under the EU AI Act: a human decides"
    assert promote(registry, twin, model, within).reasons == [high]
    assert promote(registry, twin, model, outside) == GateDecision(
        verdict="deny",
        reasons=[
            high,
            "[AIA-07] v2 is a substantial modification (new_algorithm) without sign-off",
        ],
        policies=["AIA-06", "AIA-07"],
    )
    assert promote(registry, twin, model, signed).verdict == "needs_approval"


def test_a_prod_promotion_must_come_from_test_and_stays_denied_after_a_human_is_asked(
    registry: _Registry, twin: SimCluster
) -> None:
    model = _model(registry, "churn", env=Environment.PROD)
    from_dev = _version(registry, model, promoted_from=Environment.DEV)
    from_test = _version(registry, model)
    assert promote(registry, twin, model, from_dev) == GateDecision(
        verdict="deny",
        reasons=[
            "[SEG-05] v1 was not validated in test",
            "[SEG-05] set_alias touches prod: a human decides",
        ],
        policies=["SEG-05"],
    )
    assert promote(registry, twin, model, from_test).verdict == "needs_approval"


def test_a_model_of_unknown_env_is_promoted_only_from_test(
    registry: _Registry, twin: SimCluster
) -> None:
    model = _model(registry, "churn", env=None)
    untested = _version(registry, model, promoted_from=None)
    decision = promote(registry, twin, model, untested)
    assert decision.verdict == "deny"
    assert "[SEG-05] v1 was not validated in test" in decision.reasons


def test_a_move_of_another_alias_is_no_promotion(registry: _Registry, twin: SimCluster) -> None:
    model = _model(registry, "churn", env=Environment.PROD)
    version = _version(
        registry, model, promoted_from=None, version_tags={tags.DATA_CHECKS: "failed"}
    )
    decision = review(
        registry, twin, ActionKind.SET_ALIAS, model=model, version=version, alias=CHALLENGER
    )
    assert decision.policies == ["SEG-05"]
    assert decision.verdict == "needs_approval"


# --- open critical findings --------------------------------------------------------------


def _critical(scope: Scope, severity: Severity = Severity.CRITICAL) -> Policy:
    """A policy every subject of `scope` in the twin and registry above fails."""
    check, params = {
        Scope.MODEL: ("named_tag", {"tag": "ai_act.overseer", "what": "named overseer"}),
        Scope.NAMESPACE: ("network_default_deny", {}),
        Scope.DEPLOYMENT: ("image_registry_path", {}),
    }[scope]
    return Policy(
        id=f"TST-{list(Scope).index(scope):02d}",
        title=f"{scope.value} test rule",
        rationale="for the test",
        reference="none",
        severity=severity,
        scope=scope,
        check=check,
        params=params,
    )


def test_a_critical_failure_of_the_model_needs_a_human(
    registry: _Registry, twin: SimCluster
) -> None:
    model = _model(registry, "churn")
    _model(registry, "other")
    policies = [_critical(Scope.MODEL), _critical(Scope.NAMESPACE)]
    decision = review(registry, twin, ActionKind.ROLLBACK, policies, model=model)
    assert decision == GateDecision(
        verdict="needs_approval",
        reasons=[
            "[TST-00] churn fails TST-00 (model test rule): named overseer is missing "
            "(tag ai_act.overseer)"
        ],
        policies=["TST-00"],
    )


def test_a_failure_below_critical_does_not_ask(registry: _Registry, twin: SimCluster) -> None:
    model = _model(registry, "churn")
    policies = [_critical(Scope.MODEL, Severity.HIGH)]
    assert review(registry, twin, ActionKind.ROLLBACK, policies, model=model).verdict == "allow"


def test_a_critical_failure_of_the_namespace_or_deployment_needs_a_human(
    registry: _Registry, twin: SimCluster
) -> None:
    policies = [_critical(Scope.NAMESPACE), _critical(Scope.DEPLOYMENT)]
    decision = review(registry, twin, ActionKind.SCALE, policies, namespace="growth-test")
    assert decision.reasons == [
        "[TST-01] growth-test fails TST-01 (namespace test rule): no default-deny ingress policy"
    ]
    decision = review(
        registry, twin, ActionKind.SCALE, policies, namespace="growth-test", deployment="churn"
    )
    assert decision.policies == ["TST-01", "TST-02"]
    assert decision.reasons[1] == (
        "[TST-02] growth-test/churn fails TST-02 (deployment test rule): "
        "no image recorded for the deployment"
    )


def test_a_deployment_is_a_subject_only_within_its_namespace(
    registry: _Registry, twin: SimCluster
) -> None:
    model = _model(registry, "churn")
    policies = [_critical(Scope.DEPLOYMENT)]
    decision = review(registry, twin, ActionKind.SCALE, policies, model=model, deployment="churn")
    assert decision.verdict == "allow"


def test_findings_of_another_kind_of_subject_of_the_same_name_do_not_count(
    registry: _Registry, twin: SimCluster
) -> None:
    """A model named like the namespace an action touches is not what the action touches."""
    _model(registry, "growth-test")
    policies = [_critical(Scope.MODEL)]
    decision = review(registry, twin, ActionKind.SCALE, policies, namespace="growth-test")
    assert decision.verdict == "allow"


def test_the_gates_clock_decides_what_is_overdue(registry: _Registry, twin: SimCluster) -> None:
    reviewed = Policy(
        id="TST-09",
        title="access reviewed",
        rationale="for the test",
        reference="none",
        severity=Severity.CRITICAL,
        scope=Scope.NAMESPACE,
        check="access_review_recent",
        params={"max_age": "P1Y"},
    )
    action = ProposedAction(kind=ActionKind.SCALE, proposer="bob", namespace=REVIEWED)
    now = ComplianceGate(cast(ModelRegistry, registry), twin, [reviewed], now=START)
    assert now.review(action).verdict == "allow"
    later = ComplianceGate(
        cast(ModelRegistry, registry), twin, [reviewed], now=START + timedelta(days=400)
    )
    assert later.review(action).policies == ["TST-09"]


def test_only_a_move_of_an_alias_reads_the_models_versions(
    registry: _Registry, twin: SimCluster
) -> None:
    model = _model(registry, "churn")
    _version(registry, model)
    review(registry, twin, ActionKind.ROLLBACK, model=model, version=1)
    review(registry, twin, ActionKind.RETRAIN, model=model, version=1)
    assert registry.version_reads == []
    promote(registry, twin, model, 1)
    assert registry.version_reads == [model]
