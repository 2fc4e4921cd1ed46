"""Tier-0 intents backed by the compliance reviewer: policy status, may X be promoted."""

from agents.assistant.context import FleetView
from agents.assistant.gatecheck import GateView, review
from agents.assistant.intent import Intent, Reply, as_json, lookup, unknown_or_which
from agents.assistant.query import Query
from tools.policy.action import ActionKind, ProposedAction
from tools.policy.evaluate import ComplianceReport, Finding, scan_compliance
from tools.registry import CHALLENGER, CHAMPION

_PROMOTION = (
    r"allowed (in|into|to)|may .* (be )?promot|can .* (be )?promot|ready for prod|"
    r"go (in|into|to) prod|review (the )?promot|promoting|safe to promote"
)


_TOPICS = {
    r"overseer|oversight": "AIA-04",
    r"inference log|log(s|ging)? (its |their )?inferences|inference[- ]logging|log retention|"
    r"logs? (are )?kept": "AIA-01",
    r"rollback (path|test)|stop (path|button)|tested rollback": "AIA-03",
    r"post[- ]market": "AIA-05",
    r"change plan": "AIA-07",
    r"data checks?": "AIA-08",
    r"default[- ]deny|network polic": "SEG-04",
    r"shared (secrets?|identit)|secrets?\b.*\b(shared|across)|identit(y|ies)\b.*\bshared": "SEG-03",
    r"\btaint": "SEG-07",
    r"access review": "ACC-01",
}
"""What a question names -> the policy that checks it ("which models have no overseer?")."""
_FAMILIES = {r"ai act|aia\b": "AIA-", r"isolat|segregat|separated": "SEG-"}
"""A family of policies by name: "the EU AI Act", "is prod isolated from dev?"."""


def _topic_policies(query: Query, known: list[str]) -> list[str]:
    """Policies a question asks about by topic, or a whole family (the AI Act, segregation)."""
    named = [pid for pattern, pid in _TOPICS.items() if query.has(pattern)]
    if named:
        return named
    prefixes = [prefix for pattern, prefix in _FAMILIES.items() if query.has(pattern)]
    return [pid for pid in known if any(pid.startswith(p) for p in prefixes)]


def compliance(view: FleetView, query: Query) -> Reply:
    """Which subjects fail a policy, a model's compliance status, or may it be promoted."""
    if query.models and query.has(_PROMOTION):
        return _promotion(view, query)
    if query.unknown and not (query.models or query.namespaces or query.policies):
        return unknown_or_which(view, query)
    # A model's deployments are checked with it (as `lotsen compliance scan` does).
    subjects = {s: {s} for s in query.namespaces}
    for model in query.models:
        subjects[model] = {model} | {
            f"{d.namespace}/{d.name}" for d in view.deployments if d.model == model
        }
    only = set().union(*subjects.values()) if subjects else None
    policies = None if view.ctx.policies is None else list(view.ctx.policies)
    report = scan_compliance(view.ctx.registry, view.ctx.cluster, policies=policies, only=only)
    asked = query.policies or _topic_policies(query, [p.id for p in report.policies])
    if subjects:
        return _per_subject(report, subjects, asked)
    if query.policies:
        return _per_policy(report, query.policies)
    return _overall(report, asked)


def _bad(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.status != "pass"]


def _per_policy(report: ComplianceReport, policies: list[str]) -> Reply:
    known = {p.id for p in report.policies}
    result: dict[str, list[str]] = {}
    lines = []
    for pid in policies:
        if pid not in known:
            lines.append(f"There is no policy {pid}; known: {', '.join(sorted(known))}.")
            continue
        failing = sorted({f.subject for f in _bad(report.findings) if f.policy_id == pid})
        result[pid] = failing
        lines.append(f"{len(failing)} subject(s) fail {pid}: {', '.join(failing) or 'none'}.")
    return Reply(
        text="\n".join(lines),
        entities=sorted({s for subjects in result.values() for s in subjects}),
        facts={"failing": as_json(result), "policies": as_json(policies)},
        lookups=[lookup("scan_compliance", policies=policies)],
    )


def _per_subject(
    report: ComplianceReport, subjects: dict[str, set[str]], policies: list[str]
) -> Reply:
    lines, status = [], {}
    for subject, covered in sorted(subjects.items()):
        found = [
            f
            for f in report.findings
            if f.subject in covered and (not policies or f.policy_id in policies)
        ]
        bad = _bad(found)
        checked = len(found)
        status[subject] = sorted({f.policy_id for f in bad})
        if bad:
            lines.append(f"{subject} fails {len(bad)} of {checked} policy check(s):")
            lines += [
                f"- {f.policy_id} ({f.severity}) on {f.subject}: {f.title}: {f.message}"
                for f in bad
            ]
        elif policies and not checked:
            lines.append(f"{', '.join(policies)} does not apply to {subject}.")
        elif policies:
            lines.append(f"{subject} passes {', '.join(sorted({f.policy_id for f in found}))}:")
            lines += [f"- {f.policy_id} on {f.subject}: {f.title}: {f.message}" for f in found]
        else:
            lines.append(f"{subject} passes all {checked} policy check(s) that apply to it.")
    return Reply(
        text="\n".join(lines),
        entities=sorted(subjects),
        facts={
            "failing_policies": as_json(status),
            "compliant": as_json({s: not p for s, p in status.items()}),
        },
        lookups=[lookup("scan_compliance", subjects=sorted(subjects))],
    )


def _overall(report: ComplianceReport, policies: list[str]) -> Reply:
    failing: dict[str, list[str]] = {}
    for f in report.failures():
        if not policies or f.policy_id in policies:
            failing.setdefault(f.policy_id, []).append(f.subject)
    lines = [
        f"- {pid}: {len(s)} subject(s): {', '.join(sorted(s))}"
        for pid, s in sorted(failing.items())
    ]
    return Reply(
        text=f"{sum(len(s) for s in failing.values())} failing check(s) across "
        f"{len(failing)} polic(ies)"
        + (f" (checked: {', '.join(policies)})" if policies else "")
        + (":\n" + "\n".join(lines) if lines else "; all pass."),
        entities=sorted({s for subjects in failing.values() for s in subjects}),
        facts={"failing": as_json(failing), "findings": len(report.findings)},
        lookups=[lookup("scan_compliance")],
    )


def _promotion(view: FleetView, query: Query) -> Reply:
    views: list[GateView] = []
    actions = []
    for model in query.models:
        m = view.models[model]
        version = query.version or m.aliases.get(CHALLENGER) or m.aliases.get(CHAMPION)
        actions.append(
            ProposedAction(
                kind=ActionKind.SET_ALIAS,
                proposer=view.ctx.user,
                model=model,
                alias=CHAMPION,
                version=version,
                detail=f"promote {model} v{version} to champion",
            )
        )
    views = review(view.ctx, actions)
    lines = [
        f"{a.model} v{a.version}: the compliance gate says {v.verdict} "
        f"({'; '.join(v.reasons)}). This is a review only; nothing was promoted."
        for a, v in zip(actions, views, strict=True)
    ]
    return Reply(
        text="\n".join(lines),
        entities=list(query.models),
        facts={"gate": as_json(views), "versions": as_json({a.model: a.version for a in actions})},
        lookups=[lookup("compliance_gate_review", model=m) for m in query.models],
    )


COMPLIANCE_INTENTS: tuple[Intent, ...] = (
    Intent(
        "compliance",
        "Which models fail policy AIA-01, and is pd-0008 compliant?",
        lambda q: (
            bool(q.policies)
            or q.has(r"complian|\bpolic(y|ies)\b|violat|segregation|" + _PROMOTION)
            or any(q.has(pattern) for pattern in _TOPICS)
            or q.has(r"isolat|separated")  # "the AI Act" alone may be a risk-class question
        ),
        compliance,
    ),
)
