"""`lotsen compliance explain MODEL`: what a model must satisfy, where it stands, what to do.

Tier 0 assembles the explanation from the findings and the policies' rationale; an LLM tier
rewrites it for a human (validated output, tier-0 fallback). Either way the findings are
the facts: the text never adds a finding.
"""

from pydantic import BaseModel, Field

from llm.call import LlmContext
from llm.structured import decide, schema_json
from prompts import render_prompt
from tools.policy.evaluate import ComplianceReport, Finding
from tools.policy.spec import Policy


class Explanation(BaseModel):
    """A model's compliance explained."""

    summary: str = Field(max_length=1500, description="Two to five sentences for the owner.")
    next_steps: list[str] = Field(
        default_factory=list, max_length=8, description="Concrete fixes, one per failing policy."
    )


class ModelExplanation(BaseModel):
    """What `explain` returns: the facts, and the words."""

    subject: str
    findings: list[Finding]
    explanation: Explanation
    tier: str


FIXES: dict[str, str] = {
    "AIA-01": "turn inference logging on and keep logs >= 183 days (tag ai_act.inference_logging"
    "=on, ai_act.log_retention_days)",
    "AIA-02": "move aliases only through Lotsen (remediation or approvals) so each change is "
    "audited; re-set the alias through Lotsen to record it",
    "AIA-03": "run a stop/rollback drill and record its date (tag ai_act.rollback_tested_at)",
    "AIA-04": "name the human overseer (tag ai_act.overseer)",
    "AIA-05": "link the post-market monitoring plan (tag ai_act.post_market_plan)",
    "AIA-06": "record the human approval of the champion's promotion (version tag "
    "lotsen.approval), or roll back to an approved version",
    "AIA-07": "get the substantial modification signed off (version tag lotsen.signoff) after "
    "a new conformity review, or keep it out of @champion/@challenger",
    "AIA-08": "retrain on data that passes the data checks; do not serve the failing version",
    "SEG-05": "serve @champion only, validated in test, with a recorded approval",
}


def explain(
    subject: str,
    report: ComplianceReport,
    llm: LlmContext | None,
) -> ModelExplanation:
    """Explain a report's findings about one subject (scan it with `only=` its subjects)."""
    findings = report.findings
    policies = {p.id: p for p in report.policies}
    fallback = tier0_explanation(subject, findings, policies)
    prompt = render_prompt(
        "structured_decision",
        agent="compliance reviewer",
        task=f"explain the compliance status of {subject} to its owner",
        evidence=_evidence(findings, policies),
        schema_json=schema_json(Explanation),
    )
    decision = decide(
        Explanation,
        prompt,
        f"Explain {subject}'s compliance findings. Do not add findings.",
        llm,
        lambda: fallback,
        agent="compliance",
        task="compliance/explain",
    )
    return ModelExplanation(
        subject=subject, findings=findings, explanation=decision.value, tier=decision.tier
    )


def tier0_explanation(
    subject: str, findings: list[Finding], policies: dict[str, Policy]
) -> Explanation:
    """The deterministic explanation."""
    failing = [f for f in findings if f.status != "pass"]
    if not findings:
        return Explanation(summary=f"No policy applies to {subject}.")
    if not failing:
        return Explanation(
            summary=f"{subject} passes all {len(findings)} policies that apply to it "
            f"({', '.join(f.policy_id for f in findings)})."
        )
    lines = [
        f"{subject} fails {len(failing)} of {len(findings)} applicable policies.",
        *(
            f"{f.policy_id} ({f.severity.value}, {policies[f.policy_id].reference}): {f.message}."
            for f in failing
        ),
    ]
    steps = [
        f"{f.policy_id}: {FIXES.get(f.policy_id, policies[f.policy_id].rationale)}" for f in failing
    ]
    return Explanation(summary=" ".join(lines)[:1500], next_steps=steps[:8])


def _evidence(findings: list[Finding], policies: dict[str, Policy]) -> str:
    lines = []
    for f in findings:
        policy = policies[f.policy_id]
        lines.append(
            f"- {f.policy_id} [{f.status}] {policy.title} (severity {f.severity.value}; "
            f"{policy.reference}) {f.message}".rstrip()
        )
    return "\n".join(lines) or "(no applicable policies)"
