"""Eval reports: the runs under `<data_dir>/evals/runs`, and one run with its plots."""

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel

from tools.errors import NotFoundError

if TYPE_CHECKING:
    from evals.metrics import GroupMetrics
    from evals.runner import RunResult

RESULTS = "results.json"


class RunRow(BaseModel):
    """One eval run as the list shows it."""

    name: str
    started_at: datetime
    scenarios: int
    cases: int
    tiers: list[str]
    pass_at_1: float | None
    cost: float


class GroupRow(BaseModel):
    """One group of cases (an agent, a tier, ...) with its metrics."""

    name: str
    cases: int
    pass_at_1: float | None
    pass_hat_k: float | None
    cost_per_scenario: float


class RunPage(BaseModel):
    """One run: its headline, the report's plots (SVG, made by evals/report) and tables."""

    row: RunRow
    k: int
    success_svg: str
    cost_svg: str
    by_agent: list[GroupRow]
    by_tier: list[GroupRow]
    failed: list[str]


def runs_dir(data_dir: Path) -> Path:
    """Where `lotsen eval run` writes runs by default."""
    return data_dir / "evals" / "runs"


def run_rows(data_dir: Path) -> list[RunRow]:
    """Every readable run, newest first (unreadable folders are skipped)."""
    from evals.report import load_result
    from tools.errors import ConfigError

    root = runs_dir(data_dir)
    if not root.is_dir():
        return []
    rows = []
    for folder in sorted(root.iterdir(), reverse=True):
        if not (folder / RESULTS).is_file():
            continue
        try:
            result = load_result(folder)
        except ConfigError:
            continue
        rows.append(_row(folder.name, result))
    return rows


def run_page(data_dir: Path, name: str) -> RunPage:
    """One run by folder name.

    Raises:
        NotFoundError: no such run (or the name is not a plain folder name).
    """
    from evals.report import load_result
    from evals.report.html import cost_chart, success_chart
    from evals.report.markdown import k_of

    folder = runs_dir(data_dir) / name
    if "/" in name or name.startswith(".") or not (folder / RESULTS).is_file():
        raise NotFoundError(f"unknown eval run {name!r}")
    result = load_result(folder)
    m = result.metrics
    k = k_of(result)
    points = {f"{t} / {a}": g for t in m.by["tier"] for a, g in _by_agent(result, t).items()}

    def groups(by: str) -> list[GroupRow]:
        return [
            GroupRow(
                name=n,
                cases=g.cases,
                pass_at_1=g.pass_at_1,
                pass_hat_k=g.pass_hat_k.get(k),
                cost_per_scenario=g.cost_per_scenario,
            )
            for n, g in sorted(m.by.get(by, {}).items())
        ]

    return RunPage(
        row=_row(name, result),
        k=k,
        success_svg=success_chart(m.by_agent_difficulty, k),
        cost_svg=cost_chart(m.by["tier"], points),
        by_agent=groups("agent"),
        by_tier=groups("tier"),
        failed=[f"{c.scenario} (trial {c.trial}, {c.tier})" for c in result.cases if not c.passed],
    )


def _by_agent(result: "RunResult", tier: str) -> "dict[str, GroupMetrics]":
    """Metrics per agent of one tier's cases (the report's cost chart plots them)."""
    from evals.metrics import compute_metrics

    cases = [c for c in result.cases if c.tier == tier]
    return compute_metrics(cases, result.trials).by["agent"] if cases else {}


def _row(name: str, result: "RunResult") -> RunRow:
    m = result.metrics
    return RunRow(
        name=name,
        started_at=result.started_at,
        scenarios=len(result.scenarios),
        cases=m.overall.cases,
        tiers=result.tiers,
        pass_at_1=m.overall.pass_at_1,
        cost=m.overall.cost,
    )
