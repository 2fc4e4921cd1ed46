"""The compliance gate: every mutating action is reviewed before it may run.

`review` answers allow, needs_approval (a human must decide; four eyes) or deny. The gate
never executes or promotes anything itself. Rules, each tied to a policy id:

- prod and high-risk models: every change needs a human (SEG-05, AIA-06); a model whose
  env or risk tag is missing or not understood counts as prod and high-risk (TAG-01);
- a promotion to @champion is denied when the version failed its training-data checks
  (AIA-08), is a substantial modification without sign-off (AIA-07), or, in prod, was not
  validated in test (SEG-05);
- a retrain outside the model's change plan may train but its promotion is blocked (AIA-07);
- an action on a model or namespace with failing critical policies needs a human.
"""

from dataclasses import dataclass, field
from datetime import datetime

from tools.cluster.protocol import Cluster
from tools.domain import AiActRisk, ChangeKind, Environment, ModelVersion, RegisteredModel
from tools.errors import NotFoundError
from tools.policy import tags
from tools.policy.action import ActionKind, GateDecision, ProposedAction, Verdict
from tools.policy.evaluate import evaluate
from tools.policy.facts import PlatformFacts
from tools.policy.spec import Policy, Scope, Severity, load_policies
from tools.registry import CHAMPION, ModelRegistry
from tools.registry.tag_contract import (
    ENV,
    RISK,
    strictest_env,
    strictest_risk,
    unknown_reason,
)

ALWAYS_HUMAN = {Environment.PROD}
"""Environments where no change runs without a human."""


@dataclass
class ComplianceGate:
    """Reviews proposed actions against registry + cluster state and the policies."""

    registry: ModelRegistry
    cluster: Cluster
    policies: list[Policy] = field(default_factory=load_policies)
    now: datetime | None = None

    def review(self, action: ProposedAction) -> GateDecision:
        """Allow, ask for a human, or deny one action."""
        review = _Review()
        # One moment per review: the model, its versions and the namespaces read for the
        # rules below are the ones the policy findings see; each is read once.
        facts = PlatformFacts(self.registry, self.cluster, self.now)
        model = self._model(action, facts, review)
        if model is not None:
            _model_rules(action, model, _target_version(action, model, facts), review)
        if model is not None:
            env = model.env
            if env is None:
                reason = unknown_reason(ENV, model.contract_tags, "prod")
                review.ask(f"{reason}, a human decides", "TAG-01")
        else:
            env = _namespace_env(action, facts, review)
        if env in ALWAYS_HUMAN:
            review.ask(f"{action.kind.value} touches {env.value}: a human decides", "SEG-05")
        self._open_findings(action, facts, review)
        return review.decision()

    def _model(
        self, action: ProposedAction, facts: PlatformFacts, review: "_Review"
    ) -> RegisteredModel | None:
        if action.model is None:
            return None
        try:
            return facts.get_model(action.model)
        except NotFoundError as exc:
            review.deny(str(exc), "GATE")
            return None

    def _open_findings(
        self, action: ProposedAction, facts: PlatformFacts, review: "_Review"
    ) -> None:
        subjects: dict[str, Scope] = {}
        if action.model:
            subjects[action.model] = Scope.MODEL
        if action.namespace:
            subjects[action.namespace] = Scope.NAMESPACE
            if action.deployment:
                subjects[f"{action.namespace}/{action.deployment}"] = Scope.DEPLOYMENT
        if not subjects:
            return
        report = evaluate(facts, self.policies, only=set(subjects), scopes=set(subjects.values()))
        for finding in report.failures():
            if finding.severity is Severity.CRITICAL:
                review.ask(
                    f"{finding.subject} fails {finding.policy_id} ({finding.title}): "
                    f"{finding.message}",
                    finding.policy_id,
                )


def _target_version(
    action: ProposedAction, model: RegisteredModel, facts: PlatformFacts
) -> ModelVersion | None:
    """The version a SET_ALIAS moves to (tags and lineage: all the rules look at)."""
    if action.kind is not ActionKind.SET_ALIAS or action.version is None:
        return None
    return facts.version(model.name, action.version)


def _namespace_env(
    action: ProposedAction, facts: PlatformFacts, review: "_Review"
) -> Environment | None:
    if action.namespace is None:
        return None
    namespace = facts.namespace(action.namespace)
    if namespace is None:
        review.deny(
            f"unknown namespace {action.namespace!r}; `lotsen cluster namespaces` lists them",
            "GATE",
        )
        return None
    if namespace.env is None:
        review.ask(f"namespace {namespace.name} has no env label", "SEG-01")
    return namespace.env


def _model_rules(
    action: ProposedAction,
    model: RegisteredModel,
    version: ModelVersion | None,
    review: "_Review",
) -> None:
    if model.ai_act_risk is None:
        reason = unknown_reason(RISK, model.contract_tags, "high-risk")
        review.ask(f"{reason}, a human decides", "TAG-01")
    elif model.ai_act_risk is AiActRisk.HIGH:
        review.ask(f"{model.name} is high-risk under the EU AI Act: a human decides", "AIA-06")
    if action.kind is ActionKind.RETRAIN and not _within_plan(model, action.change_kind):
        review.ask(
            f"retraining {model.name} as {action.change_kind} is outside its change plan: "
            "substantial modification, promotion blocked until signed off",
            "AIA-07",
        )
        review.block_promotion = True
    if action.kind is ActionKind.SET_ALIAS and action.alias == CHAMPION:
        _promotion_rules(model, action.version, version, review)


def _promotion_rules(
    model: RegisteredModel, number: int | None, version: ModelVersion | None, review: "_Review"
) -> None:
    if version is None:
        review.deny(f"{model.name} has no version {number} to promote", "GATE")
        return
    if version.tags.get(tags.DATA_CHECKS) != "passed":
        review.deny(
            f"v{version.version} training-data checks: "
            f"{version.tags.get(tags.DATA_CHECKS, 'not recorded')}",
            "AIA-08",
        )
    kind = version.tags.get(tags.CHANGE_KIND)
    if kind and not _within_plan(model, kind) and not version.tags.get(tags.SIGNOFF):
        review.deny(
            f"v{version.version} is a substantial modification ({kind}) without sign-off",
            "AIA-07",
        )
    in_prod = strictest_env(model.env) is Environment.PROD
    if in_prod and version.lineage.promoted_from is not Environment.TEST:
        review.deny(f"v{version.version} was not validated in test", "SEG-05")


def _within_plan(model: RegisteredModel, change_kind: str | None) -> bool:
    kind = change_kind or ChangeKind.RETRAIN_SAME_FEATURES.value
    if model.change_plan is None:
        high_risk = strictest_risk(model.ai_act_risk) is AiActRisk.HIGH
        return not high_risk or kind == "retrain_same_features"
    return kind in {k.value for k in model.change_plan.allowed}


@dataclass
class _Review:
    reasons: list[str] = field(default_factory=list)
    policies: list[str] = field(default_factory=list)
    verdict: Verdict = "allow"
    block_promotion: bool = False

    def ask(self, reason: str, policy: str) -> None:
        self._add(reason, policy)
        if self.verdict == "allow":
            self.verdict = "needs_approval"

    def deny(self, reason: str, policy: str) -> None:
        self._add(reason, policy)
        self.verdict = "deny"

    def _add(self, reason: str, policy: str) -> None:
        self.reasons.append(f"[{policy}] {reason}")
        if policy not in self.policies:
            self.policies.append(policy)

    def decision(self) -> GateDecision:
        return GateDecision(
            verdict=self.verdict,
            reasons=self.reasons or ["no policy requires a human"],
            policies=self.policies,
            promotion_blocked=self.block_promotion,
        )
