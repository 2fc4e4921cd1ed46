"""The Markdown report: headline numbers, tables by agent x difficulty, per scenario."""

from evals.metrics import GroupMetrics
from evals.runner import RunResult


def pct(value: float | None) -> str:
    """0.953 -> '95.3%' (None -> '-')."""
    return "-" if value is None else f"{100 * value:.1f}%"


def k_of(result: RunResult) -> int:
    """The k of pass^k shown: the number of trials."""
    return result.trials


def render_markdown(result: RunResult) -> str:
    """The whole report as Markdown."""
    m = result.metrics
    k = k_of(result)
    lines = [
        "# Lotsen eval run",
        "",
        f"{len(result.scenarios)} scenarios x {result.trials} trials at "
        f"{', '.join(result.tiers)}; {m.overall.cases} cases in {result.wall_s:.0f} s "
        f"({result.jobs} job(s), {result.host}).",
        "",
        f"- pass@1 **{pct(m.overall.pass_at_1)}**, pass^{k} **{pct(m.overall.pass_hat_k.get(k))}**",
        f"- false-positive rate on {m.overall.controls} controls: "
        f"**{pct(m.overall.false_positive_rate)}**",
        f"- tokens {m.overall.input_tokens + m.overall.output_tokens:,}, cost {m.overall.cost:.4f}",
        "",
        f"## pass@1 / pass^{k} by agent and difficulty",
        "",
        "| agent | easy | medium | hard | all |",
        "|---|---|---|---|---|",
    ]
    for agent, row in sorted(m.by_agent_difficulty.items()):
        cells = [_cell(row.get(d), k) for d in ("easy", "medium", "hard")]
        lines.append(f"| {agent} | {' | '.join(cells)} | {_cell(m.by['agent'].get(agent), k)} |")
    lines.append(
        "| **all** | "
        + " | ".join(_cell(m.by["difficulty"].get(d), k) for d in ("easy", "medium", "hard"))
        + f" | {_cell(m.overall, k)} |"
    )
    for grouping in ("level", "split", "tier"):
        lines += ["", f"## By {grouping}", "", _group_table(m.by[grouping], k)]
    lines += ["", "## By tag", "", _group_table(m.by_tag, k)]
    lines += [
        "",
        "## Scenarios",
        "",
        "| scenario | agent | level | difficulty | control | tier | passed "
        f"| pass^{k} | tokens | cost | latency s | steps |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in m.scenarios:
        lines.append(
            f"| {s.scenario} | {s.agent} | {s.level} | {s.difficulty} | "
            f"{'yes' if s.control else ''} | {s.tier} | {s.successes}/{s.trials} | "
            f"{pct(s.pass_hat_k.get(k))} | {s.tokens} | {s.cost:.4f} | {s.latency_mean_s:.2f} | "
            f"{s.steps_mean:.1f} |"
        )
    failures = [c for c in result.cases if not c.passed]
    if failures:
        lines += ["", "## Failed trials", ""]
        for c in failures[:60]:
            why = c.error or "; ".join(f"{o.oracle}: {o.detail}" for o in c.oracles if not o.passed)
            lines.append(f"- `{c.scenario}` trial {c.trial} ({c.tier}): {why}")
    if m.not_executed:
        lines += ["", f"Not executed (setup failed): {', '.join(m.not_executed)}"]
    return "\n".join(lines) + "\n"


def _cell(g: GroupMetrics | None, k: int) -> str:
    if g is None:
        return "-"
    return f"{pct(g.pass_at_1)} / {pct(g.pass_hat_k.get(k))} (n={g.scenarios})"


def _group_table(groups: dict[str, GroupMetrics], k: int) -> str:
    rows = [
        f"| value | scenarios | pass@1 | pass^{k} | FP rate (controls) | tokens | cost "
        "| latency p95 s | steps |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, g in sorted(groups.items()):
        rows.append(
            f"| {name} | {g.scenarios} | {pct(g.pass_at_1)} | {pct(g.pass_hat_k.get(k))} | "
            f"{pct(g.false_positive_rate)} ({g.controls}) | {g.input_tokens + g.output_tokens:,} | "
            f"{g.cost:.4f} | {g.latency_p95_s:.2f} | {g.steps_mean:.1f} |"
        )
    return "\n".join(rows)
