"""Compliance reports an auditor can read: Markdown and self-contained HTML."""

import html
from collections import Counter

from tools.policy.evaluate import ComplianceReport

_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2rem;max-width:75rem;color:#222}"
    "table{border-collapse:collapse;width:100%;margin:1rem 0}"
    "th,td{border:1px solid #ccc;padding:.35rem .5rem;text-align:left;vertical-align:top}"
    "th{background:#f3f3f3}.fail{color:#a40000;font-weight:600}.pass{color:#176317}"
    ".error{color:#8a5a00;font-weight:600}small{color:#666}"
)


def to_markdown(report: ComplianceReport) -> str:
    """The report as Markdown."""
    totals = Counter(f.status for f in report.findings)
    lines = [
        "# Lotsen compliance report",
        "",
        f"As of {report.at:%Y-%m-%d %H:%M} UTC: {len(report.policies)} policies, "
        f"{totals['pass']} passed, {totals['fail']} failed, {totals['error']} errors.",
        "",
        "## Policies",
        "",
        "| Policy | Title | Severity | Pass | Fail | Error | Reference |",
        "|---|---|---|---:|---:|---:|---|",
    ]
    summary = report.summary()
    for p in report.policies:
        c = summary[p.id]
        lines.append(
            f"| {p.id} | {_md(p.title)} | {p.severity.value} | {c['pass']} | {c['fail']} "
            f"| {c['error']} | {_md(p.reference)} |"
        )
    lines += ["", "## Findings", ""]
    failures = report.failures()
    if not failures:
        lines.append("No failures.")
    else:
        lines += ["| Policy | Severity | Subject | Status | Finding |", "|---|---|---|---|---|"]
        lines += [
            f"| {f.policy_id} | {f.severity.value} | {_md(f.subject)} | {f.status} "
            f"| {_md(f.message)} |"
            for f in failures
        ]
    lines += ["", "## Rationale", ""]
    lines += [f"- **{p.id}** {_md(p.rationale)}" for p in report.policies]
    return "\n".join(lines) + "\n"


def to_html(report: ComplianceReport) -> str:
    """The report as one self-contained HTML page (no external assets)."""
    totals = Counter(f.status for f in report.findings)
    summary = report.summary()
    policy_rows = "".join(
        f"<tr><td>{p.id}</td><td>{_h(p.title)}<br><small>{_h(p.rationale)}</small></td>"
        f"<td>{p.severity.value}</td><td class=pass>{summary[p.id]['pass']}</td>"
        f"<td class=fail>{summary[p.id]['fail']}</td><td class=error>{summary[p.id]['error']}</td>"
        f"<td>{_h(p.reference)}</td></tr>"
        for p in report.policies
    )
    finding_rows = (
        "".join(
            f"<tr><td>{f.policy_id}</td><td>{f.severity.value}</td><td>{_h(f.subject)}</td>"
            f"<td class={f.status}>{f.status}</td><td>{_h(f.message)}</td></tr>"
            for f in report.failures()
        )
        or "<tr><td colspan=5>No failures.</td></tr>"
    )
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>Lotsen compliance report</title><style>{_STYLE}</style></head><body>"
        "<h1>Lotsen compliance report</h1>"
        f"<p>As of {report.at:%Y-%m-%d %H:%M} UTC: {len(report.policies)} policies, "
        f"<span class=pass>{totals['pass']} passed</span>, "
        f"<span class=fail>{totals['fail']} failed</span>, "
        f"<span class=error>{totals['error']} errors</span>.</p>"
        "<h2>Policies</h2><table><tr><th>Policy</th><th>Title and rationale</th>"
        "<th>Severity</th><th>Pass</th><th>Fail</th><th>Error</th><th>Reference</th></tr>"
        f"{policy_rows}</table>"
        "<h2>Findings</h2><table><tr><th>Policy</th><th>Severity</th><th>Subject</th>"
        f"<th>Status</th><th>Finding</th></tr>{finding_rows}</table></body></html>\n"
    )


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _h(text: str) -> str:
    return html.escape(text, quote=True)
