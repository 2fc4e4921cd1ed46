"""`lotsen eval run|list|check|compare|report`: the agent evaluation suite."""

import glob
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from llm.tiers import TIER0, LlmTier, find_tier
from lotsen.cli import checks
from lotsen.cli.context import console, print_json, progress_bar, settings_of
from tools.errors import ConfigError
from world.llm import configured_tiers
from world.settings import Settings

if TYPE_CHECKING:
    from evals.runner import RunResult

app = typer.Typer(help="Agent evaluation: scenarios, state oracles, pass@1 / pass^k, reports.")
Targets = Annotated[
    list[str] | None,
    typer.Argument(
        help="Suites (monitor, retrainer, ...), scenario ids, files or folders (default: all)."
    ),
]


def resolve_targets(targets: list[str] | None) -> list[Path]:
    """Suite names, scenario ids and paths -> scenario files or folders."""
    from evals.scenario import SCENARIO_DIR

    if not targets or targets == ["all"]:
        return [SCENARIO_DIR]
    paths = []
    for target in targets:
        path = Path(target)
        plain = bool(target.strip()) and path.name == target and not glob.has_magic(target)
        by_id = sorted(SCENARIO_DIR.rglob(f"{target}.yaml")) if plain else []
        if path.exists() and str(path).strip():
            paths.append(path)
        elif plain and (SCENARIO_DIR / target).is_dir():
            paths.append(SCENARIO_DIR / target)
        elif by_id:
            paths.append(by_id[0])
        else:
            suites = sorted(p.name for p in SCENARIO_DIR.iterdir() if p.is_dir())
            raise ConfigError(f"no suite, scenario or path {target!r}; suites: {', '.join(suites)}")
    return paths


def resolve_tiers(settings: Settings, tier: str) -> list[LlmTier | None]:
    """`0`/`tier0` -> tier 0; `auto` -> every configured tier, else tier 0; NAME -> that tier."""
    if tier in ("0", TIER0):
        return [None]
    tiers = configured_tiers(settings)
    if tier == "auto":
        return list(tiers) or [None]
    return [find_tier(tiers, tier)]


@app.command("run")
def run_cmd(
    ctx: typer.Context,
    targets: Targets = None,
    trials: Annotated[int, typer.Option(min=1, help="Trials per scenario (k of pass^k).")] = 4,
    tier: Annotated[str, typer.Option(help="0 | NAME of a configured tier | auto.")] = "0",
    jobs: Annotated[int, typer.Option(min=1, help="Scenarios run in parallel (processes).")] = 1,
    split: Annotated[str, typer.Option(help="dev | heldout | all.")] = "all",
    agent: Annotated[str | None, typer.Option(help="Only this agent's scenarios.")] = None,
    out: Annotated[
        Path | None, typer.Option(help="Run folder (default: DATA_DIR/evals/runs/<time>).")
    ] = None,
    keep: Annotated[bool, typer.Option(help="Keep every trial's world.")] = False,
    judge: Annotated[
        str | None, typer.Option(help="Grade `judge` checklists with this configured tier.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the metrics as JSON.")] = False,
    fail_under: Annotated[
        float | None,
        typer.Option(
            "--fail-under",
            metavar="PCT",
            help="Exit 1 only when pass@1 is below PCT percent (default: any failed case).",
        ),
    ] = None,
) -> None:
    """Run scenarios: build each world, inject faults, run the agent, apply the oracles.

    Exits 1 when any case fails or was not executed, or, with `--fail-under PCT`, when
    pass@1 over all cases is below PCT percent.
    """
    from evals.report import write_reports
    from evals.runner import run_suite
    from evals.scenario import load_suite

    settings = settings_of(ctx)
    if fail_under is not None:
        fail_under = checks.finite("--fail-under", fail_under, ge=0, le=100)
    if split not in ("dev", "heldout", "all"):
        raise ConfigError(f"--split must be dev, heldout or all, not {split!r}")
    chosen_tiers = resolve_tiers(settings, tier)
    scenarios = [
        s
        for s in load_suite(resolve_targets(targets))
        if (split == "all" or s.split == split) and (agent is None or s.agent == agent)
    ]
    run_dir = out or settings.data_dir / "evals" / "runs" / time.strftime("%Y%m%d-%H%M%S")
    work = run_dir / "work"
    with progress_bar() as bar:
        task = bar.add_task(f"{len(scenarios)} scenarios x {trials} trials", total=len(scenarios))
        result = run_suite(
            scenarios,
            trials=trials,
            tiers=chosen_tiers,
            jobs=jobs,
            workdir=work,
            cache_dir=settings.data_dir / "evals" / "cache",
            keep=keep,
            judge_tier=None if judge is None else find_tier(configured_tiers(settings), judge),
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
    paths = write_reports(result, run_dir)
    if as_json:
        print_json(result.metrics)
    else:
        _summary(result)
        console.print(
            f"results: {paths['json']}\nreport:  {paths['html']}  ({paths['markdown'].name})"
        )
    verdict = run_verdict(result, fail_under)
    if verdict is not None:
        typer.echo(verdict, err=True)
        raise typer.Exit(1)


def run_verdict(result: "RunResult", fail_under: float | None) -> str | None:
    """Why a run fails (one line), or None when it passes.

    Args:
        result: The finished run.
        fail_under: Percent of pass@1 required; None means every case must pass (but for
            scenarios tagged `known-failure`, which the report still counts).

    Returns:
        A one-line reason for a non-zero exit, or None.
    """
    from evals.scenario import KNOWN_FAILURE  # reported in the results, never fails the run

    failed = sorted(
        {c.scenario for c in result.cases if not c.passed and KNOWN_FAILURE not in c.tags}
    )
    if fail_under is None:
        if failed:
            more = f" (+{len(failed) - 10} more)" if len(failed) > 10 else ""
            return f"eval failed: {len(failed)} scenario(s) failed: {', '.join(failed[:10])}{more}"
        return None
    total = len(result.cases)
    rate = 100.0 * sum(c.passed for c in result.cases) / total if total else 0.0
    if rate < fail_under:
        return f"eval failed: pass@1 {rate:.1f}% is below --fail-under {fail_under:g}%"
    return None


def _summary(result: "RunResult") -> None:
    from evals.report.markdown import pct

    m, k = result.metrics, result.trials
    table = Table(title=f"pass@1 / pass^{k} by agent and difficulty ({', '.join(result.tiers)})")
    for column in ("agent", "easy", "medium", "hard", "all"):
        table.add_column(column)
    for agent, row in sorted(m.by_agent_difficulty.items()):
        cells = [
            "-" if g is None else f"{pct(g.pass_at_1)} / {pct(g.pass_hat_k.get(k))}"
            for g in (row.get(d) for d in ("easy", "medium", "hard"))
        ]
        whole = m.by["agent"][agent]
        table.add_row(agent, *cells, f"{pct(whole.pass_at_1)} / {pct(whole.pass_hat_k.get(k))}")
    console.print(table)
    console.print(
        f"{m.overall.cases} cases, pass@1 {pct(m.overall.pass_at_1)}, pass^{k} "
        f"{pct(m.overall.pass_hat_k.get(k))}, false positives on controls "
        f"{pct(m.overall.false_positive_rate)}, {result.wall_s:.0f} s"
    )
    if m.not_executed:
        console.print(f"[red]not executed (setup failed): {', '.join(m.not_executed)}[/red]")


@app.command("list")
def list_cmd(
    targets: Targets = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List scenarios (validates every file)."""
    from evals.scenario import load_suite

    scenarios = load_suite(resolve_targets(targets))
    if as_json:
        print_json(
            [
                s.model_dump(
                    include={"id", "agent", "level", "difficulty", "control", "split", "tags"}
                )
                for s in scenarios
            ]
        )
        return
    table = Table(
        title=f"{len(scenarios)} scenarios ({sum(s.control for s in scenarios)} controls)"
    )
    for column in ("id", "agent", "level", "difficulty", "control", "split"):
        table.add_column(column)
    for s in scenarios:
        table.add_row(s.id, s.agent, s.level, s.difficulty, "yes" if s.control else "", s.split)
    console.print(table)


@app.command("check")
def check_cmd(ctx: typer.Context, targets: Targets = None) -> None:
    """Self-check: the reference passes; doing nothing (acting, on a control) fails."""
    from evals.scenario import load_suite
    from evals.selfcheck import self_check

    settings = settings_of(ctx)
    scenarios = load_suite(resolve_targets(targets))
    work = settings.data_dir / "evals" / "check"
    problems: list[str] = []
    with progress_bar() as bar:
        task = bar.add_task("self-checks", total=len(scenarios))
        for s in scenarios:
            problems += self_check(s, settings.data_dir / "evals" / "cache", work).problems
            bar.advance(task)
    shutil.rmtree(work, ignore_errors=True)
    for p in problems:
        console.print(f"[red]{p}[/red]")
    console.print(f"{len(scenarios)} scenarios checked, {len(problems)} problem(s)")
    if problems:
        raise typer.Exit(1)


@app.command("compare")
def compare_cmd(
    a: Annotated[Path, typer.Argument(help="Baseline run folder or results.json.")],
    b: Annotated[Path, typer.Argument(help="New run folder or results.json.")],
    tolerance: Annotated[float, typer.Option(help="Drop in pass@1 tolerated.")] = 0.0,
    fail_on_regression: Annotated[bool, typer.Option(help="Exit 1 if anything regressed.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Compare two runs; regressions (lower pass@1) first, in red."""
    from evals.compare import compare
    from evals.report import load_result

    tolerance = checks.finite("--tolerance", tolerance, ge=0, le=1)

    result = compare(load_result(a), load_result(b), tolerance)
    if as_json:
        print_json(result)
    else:
        table = Table(title=f"{len(result.regressions)} regression(s)")
        for column in ("scenario / group", "A pass@1", "B pass@1", "change"):
            table.add_column(column)
        for d in [*result.groups, *result.scenarios]:
            if d.change == 0 and not d.regression:
                continue
            style = "red" if d.regression else "green"
            table.add_row(
                d.name, f"{d.before:.0%}", f"{d.after:.0%}", f"[{style}]{d.change:+.0%}[/{style}]"
            )
        console.print(table)
        for name in result.only_in_a:
            console.print(f"only in A: {name}")
        for name in result.only_in_b:
            console.print(f"only in B: {name}")
    if fail_on_regression and result.regressions:
        raise typer.Exit(1)


@app.command("report")
def report_cmd(run: Annotated[Path, typer.Argument(help="Run folder or results.json.")]) -> None:
    """Re-render a run's Markdown and HTML report from its results.json."""
    from evals.report import load_result, write_reports

    folder = run if run.is_dir() else run.parent
    paths = write_reports(load_result(run), folder)
    console.print(f"report: {paths['html']}")
