"""Compliance posture per policy and per model."""

from collections import defaultdict

from pydantic import BaseModel

from tools.policy.evaluate import ComplianceReport, Finding
from tools.policy.spec import Scope, Severity
from world import compliance
from world.world import World


class PolicyRow(BaseModel):
    """One policy with its pass/fail/error counts."""

    id: str
    title: str
    severity: Severity
    scope: Scope
    reference: str
    passed: int
    failed: int
    errors: int


class ModelPosture(BaseModel):
    """One model's findings that did not pass."""

    model: str
    failing: list[Finding]
    passed: int


class CompliancePage(BaseModel):
    """The compliance page: posture by policy, then by model (worst first)."""

    at: str
    policies: list[PolicyRow]
    models: list[ModelPosture]
    failures: list[Finding]
    """Every non-passing finding, worst first."""


def compliance_page(world: World, about: str | None = None) -> CompliancePage:
    """Scan the world now (or only what concerns `about`) and summarise it."""
    return summarise(compliance.scan(world, about))


def summarise(report: ComplianceReport) -> CompliancePage:
    """The page's rows from a compliance report."""
    summary = report.summary()
    policies = [
        PolicyRow(
            id=p.id,
            title=p.title,
            severity=p.severity,
            scope=p.scope,
            reference=p.reference,
            passed=summary[p.id]["pass"],
            failed=summary[p.id]["fail"],
            errors=summary[p.id]["error"],
        )
        for p in report.policies
    ]
    failing: dict[str, list[Finding]] = defaultdict(list)
    passed: dict[str, int] = defaultdict(int)
    for f in report.findings:
        if f.scope != Scope.MODEL:
            continue
        if f.status == "pass":
            passed[f.subject] += 1
        else:
            failing[f.subject].append(f)
    models = [
        ModelPosture(model=m, failing=failing.get(m, []), passed=passed.get(m, 0))
        for m in sorted(set(failing) | set(passed))
    ]
    models.sort(key=lambda m: (-len(m.failing), m.model))
    return CompliancePage(
        at=f"{report.at:%Y-%m-%d %H:%M} UTC",
        policies=policies,
        models=models,
        failures=report.failures(),
    )
