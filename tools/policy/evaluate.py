"""Compliance posture: every policy on every subject in its scope."""

import logging
from collections import Counter
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from tools.cluster.protocol import Cluster
from tools.domain import Environment
from tools.policy.checks import CHECKS
from tools.policy.facts import GpuSubject, PlatformFacts
from tools.policy.spec import Policy, Scope, Severity, load_policies
from tools.registry import ModelRegistry
from tools.registry.tag_contract import strictest_env, strictest_risk

logger = logging.getLogger(__name__)

Status = Literal["pass", "fail", "error"]


class Finding(BaseModel):
    """The result of one policy on one subject."""

    policy_id: str
    title: str
    severity: Severity
    scope: Scope
    subject: str
    """Model, namespace, `namespace/deployment`, pool, `node/gpuN` or environment name."""
    status: Status
    message: str = ""


class ComplianceReport(BaseModel):
    """Posture of the whole platform at one moment."""

    at: datetime
    policies: list[Policy]
    findings: list[Finding] = Field(default_factory=list)

    def failures(self) -> list[Finding]:
        """Failed and errored findings, worst first."""
        order = {s: i for i, s in enumerate(reversed(list(Severity)))}
        bad = [f for f in self.findings if f.status != "pass"]
        return sorted(bad, key=lambda f: (order[f.severity], f.policy_id, f.subject))

    def for_subject(self, subject: str) -> list[Finding]:
        """Findings about one subject."""
        return [f for f in self.findings if f.subject == subject]

    def summary(self) -> dict[str, dict[str, int]]:
        """Policy id -> {pass, fail, error} counts."""
        counts: dict[str, Counter[str]] = {p.id: Counter() for p in self.policies}
        for finding in self.findings:
            counts[finding.policy_id][finding.status] += 1
        return {pid: {s: c[s] for s in ("pass", "fail", "error")} for pid, c in counts.items()}


def scan_compliance(
    registry: ModelRegistry,
    cluster: Cluster,
    now: datetime | None = None,
    policies: list[Policy] | None = None,
    *,
    only: set[str] | None = None,
    about: str | None = None,
) -> ComplianceReport:
    """Check every policy against the current registry and cluster state.

    A check that throws becomes an `error` finding for that policy and subject; the scan
    goes on. `only` restricts the scan to these subjects; `about` to one subject and, for a
    model, its deployments.
    """
    facts = PlatformFacts(registry, cluster, now)
    if about is not None:
        only = (only or set()) | {about}
        only |= {f"{d.namespace}/{d.name}" for d in facts.deployments if d.model == about}
    return evaluate(facts, policies if policies is not None else load_policies(), only=only)


def evaluate(
    facts: PlatformFacts,
    policies: list[Policy],
    *,
    only: set[str] | None = None,
    scopes: set[Scope] | None = None,
) -> ComplianceReport:
    """Run policies (of `scopes`, default all) over the facts, on `only` these subjects."""
    report = ComplianceReport(at=facts.now, policies=policies)
    for policy in policies:
        if scopes is not None and policy.scope not in scopes:
            continue
        for name, subject in subjects(policy, facts, only):
            if only is not None and name not in only:
                continue
            report.findings.append(_run(policy, name, subject, facts))
    return report


def _run(policy: Policy, name: str, subject: Any, facts: PlatformFacts) -> Finding:
    base = {
        "policy_id": policy.id,
        "title": policy.title,
        "severity": policy.severity,
        "scope": policy.scope,
        "subject": name,
    }
    try:
        problems = CHECKS[policy.check](subject, facts, policy.params)
    except Exception as exc:  # a broken check must not stop the scan
        logger.warning("policy %s failed on %s: %s", policy.id, name, exc)
        return Finding(**base, status="error", message=f"check raised {type(exc).__name__}: {exc}")
    if problems:
        return Finding(**base, status="fail", message="; ".join(problems))
    return Finding(**base, status="pass")


def subjects(
    policy: Policy, facts: PlatformFacts, only: set[str] | None = None
) -> list[tuple[str, Any]]:
    """(name, subject) pairs the policy applies to (a hint `only` saves listing all models)."""
    match policy.scope:
        case Scope.MODEL:
            models = (
                facts.models.values()
                if only is None
                else [m for m in map(facts.model, sorted(only)) if m is not None]
            )
            pairs: list[tuple[str, Any]] = [
                (m.name, m)
                for m in models
                if _selected(
                    policy,
                    env=strictest_env(m.env).value,
                    ai_act_risk=strictest_risk(m.ai_act_risk).value,
                    owner=m.owner,
                )
            ]
        case Scope.NAMESPACE:
            pairs = [
                (ns.name, ns)
                for ns in facts.namespaces.values()
                if _selected(policy, env=ns.env.value if ns.env else "", owner=ns.owner or "")
            ]
        case Scope.DEPLOYMENT:
            pairs = [
                (f"{d.namespace}/{d.name}", d)
                for d in facts.deployments
                if _selected(policy, env=d.env.value, namespace=d.namespace)
            ]
        case Scope.POOL:
            pairs = [(p.name, p) for p in facts.pools if _selected(policy, env=p.env.value)]
        case Scope.GPU:
            gpus: list[GpuSubject] = facts.gpus()
            pairs = [(g.name, g) for g in gpus if _selected(policy, env=g.node.env.value)]
        case Scope.ENVIRONMENT:
            pairs = [(e.value, e) for e in Environment if _selected(policy, env=e.value)]
    return sorted(pairs, key=lambda pair: pair[0])


def _selected(policy: Policy, **attributes: str) -> bool:
    return all(attributes.get(key) in values for key, values in policy.when.items())
