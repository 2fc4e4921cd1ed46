"""`lotsen compliance ...`: fleet posture, explanations, the policies, and gate checks."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from lotsen.cli import checks
from lotsen.cli.context import console, print_json, world_of
from tools.errors import ConfigError
from tools.policy.action import ActionKind, ProposedAction
from tools.policy.gaps import GAP_KINDS, inject_gap
from tools.policy.spec import Severity
from world import compliance

if TYPE_CHECKING:
    from tools.policy.evaluate import ComplianceReport, Finding

app = typer.Typer(help="Compliance reviewer: policies as code, fleet posture, the action gate.")

_STYLE = {"pass": "green", "fail": "red", "error": "yellow"}


@app.command("scan")
def scan_cmd(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print all findings as JSON.")] = False,
    markdown: Annotated[
        Path | None, typer.Option(help="Also write a Markdown report for auditors here.")
    ] = None,
    html: Annotated[
        Path | None, typer.Option(help="Also write a self-contained HTML report here.")
    ] = None,
    fail_on: Annotated[
        Severity | None,
        typer.Option(help="Exit 1 if a finding of this severity or worse fails (for CI)."),
    ] = None,
) -> None:
    """Check every policy on every model, namespace, deployment, pool and GPU."""
    markdown = None if markdown is None else checks.output_file("--markdown", markdown)
    html = None if html is None else checks.output_file("--html", html)
    report = compliance.scan(world_of(ctx))
    written = _write_reports(report, markdown, html)
    if as_json:
        print_json(report)
    else:
        _print_posture(report)
        for path in written:
            console.print(f"report written to {path}")
    if fail_on is not None:
        rank = list(Severity)
        worst = [f for f in report.failures() if rank.index(f.severity) >= rank.index(fail_on)]
        if worst:
            typer.echo(f"{len(worst)} finding(s) at {fail_on.value} or worse", err=True)
            raise typer.Exit(1)


def _write_reports(
    report: "ComplianceReport", markdown: Path | None, html: Path | None
) -> list[Path]:
    from agents.compliance.export import to_html, to_markdown

    written = []
    for path, render in ((markdown, to_markdown), (html, to_html)):
        if path is not None:
            path.write_text(render(report), encoding="utf-8")
            written.append(path)
    return written


def _print_posture(report: "ComplianceReport") -> None:
    summary = report.summary()
    table = Table(title=f"Compliance posture at {report.at:%Y-%m-%d %H:%M}")
    for column in ("policy", "title", "severity", "pass", "fail", "error"):
        table.add_column(column)
    for p in report.policies:
        c = summary[p.id]
        table.add_row(
            p.id,
            p.title,
            p.severity.value,
            str(c["pass"]),
            f"[red]{c['fail']}[/]" if c["fail"] else "0",
            f"[yellow]{c['error']}[/]" if c["error"] else "0",
        )
    console.print(table)
    failures = report.failures()
    if failures:
        console.print(_findings_table(f"{len(failures)} finding(s)", failures, subject=True))


def _findings_table(title: str, findings: "list[Finding]", *, subject: bool) -> Table:
    table = Table(title=title)
    columns = ("policy", "severity", "subject", "status", "finding")
    for column in columns if subject else tuple(c for c in columns if c != "subject"):
        table.add_column(column)
    for f in findings:
        status = f"[{_STYLE[f.status]}]{f.status}[/]"
        cells = (f.policy_id, f.severity.value, f.subject, status, f.message)
        table.add_row(*(cells if subject else cells[:2] + cells[3:]))
    return table


@app.command("explain")
def explain_cmd(
    ctx: typer.Context,
    subject: Annotated[str, typer.Argument(help="Model, namespace, ns/deployment or pool.")],
    tier: Annotated[
        str | None, typer.Option(help="LLM tier to phrase it (default: cheapest; 0 = none).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Explain which policies apply to SUBJECT, which fail, and how to fix them."""
    from agents.compliance.explain import explain  # an LLM tier may phrase it: LangChain

    world = world_of(ctx)
    report = compliance.scan(world, about=subject)
    if not report.findings:
        raise ConfigError(
            f"no policy applies to {subject!r}: name a model, namespace, namespace/deployment, "
            "node pool, node/gpuN or environment (`lotsen models list`, `lotsen cluster ...`)"
        )
    llm = None if tier in {"0", "tier0"} else world.llm(tier, task="compliance/explain")
    result = explain(subject, report, llm)
    if as_json:
        print_json(result)
        return
    title = f"{subject}: {len(result.findings)} applicable policies"
    console.print(_findings_table(title, result.findings, subject=False))
    console.print(result.explanation.summary)
    for step in result.explanation.next_steps:
        console.print(f"  - {step}")
    console.print(f"[dim](explained by {result.tier})[/]")


@app.command("policies")
def policies_cmd(
    ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False
) -> None:
    """List the policies in force (shipped + LOTSEN_POLICY_FILES)."""
    found = world_of(ctx).policies
    if as_json:
        print_json(found)
        return
    table = Table(title=f"{len(found)} policies")
    for column in ("id", "title", "severity", "scope", "applies to", "reference"):
        table.add_column(column)
    for p in found:
        when = ", ".join(f"{k} in {'/'.join(v)}" for k, v in p.when.items()) or "all"
        table.add_row(p.id, p.title, p.severity.value, p.scope.value, when, p.reference)
    console.print(table)


@app.command("check")
def check_cmd(
    ctx: typer.Context,
    kind: Annotated[ActionKind, typer.Argument(help="The action you intend to take.")],
    model: Annotated[str | None, typer.Option(help="Model it concerns.")] = None,
    namespace: Annotated[str | None, typer.Option(help="Namespace it touches.")] = None,
    version: Annotated[int | None, typer.Option(help="Target version (set_alias).")] = None,
    alias: Annotated[str | None, typer.Option(help="Target alias (set_alias).")] = None,
    user: Annotated[str | None, typer.Option("--as", help="Who proposes it.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Ask the gate what it would say to an action (nothing is executed)."""
    model, namespace = (
        checks.name_or_none("--model", model),
        checks.name_or_none("--namespace", namespace),
    )
    user, alias = checks.name_or_none("--as", user), checks.name_or_none("--alias", alias)
    version = None if version is None else checks.count("--version", version)
    world = world_of(ctx)
    if model is not None:
        world.registry.get_model(model)  # the gate would judge an action on nothing
    if namespace is not None:
        world.cluster.namespace(namespace)
    action = ProposedAction(
        kind=kind,
        proposer=world.user(user, "viewer"),
        model=model,
        namespace=namespace,
        version=version,
        alias=alias,
    )
    decision = world.gate().review(action)
    if as_json:
        print_json(decision)
        return
    colour = {"allow": "green", "needs_approval": "yellow", "deny": "red"}[decision.verdict]
    console.print(f"[{colour}]{decision.verdict}[/]")
    for reason in decision.reasons:
        console.print(f"  - {reason}")


@app.command("inject-gap")
def inject_gap_cmd(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help=f"One of: {', '.join(GAP_KINDS)}.")],
    target: Annotated[str, typer.Argument(help="Model, namespace, ns/deployment or pool.")],
    value: Annotated[str, typer.Option(help="Detail for cluster gaps (label, days, ...).")] = "",
) -> None:
    """Create a known compliance gap in the embedded world (demos, drills, evals)."""
    from tools.cluster.sim import SimCluster

    target = checks.name("TARGET", target)

    world = world_of(ctx)
    if not isinstance(world.cluster, SimCluster):
        raise ConfigError("inject-gap works on the embedded twin only (LOTSEN_CLUSTER=sim)")
    inject_gap(kind, target, world.registry, world.cluster, value)
    console.print(f"injected {kind} into {target}; `lotsen compliance scan` should now find it")
