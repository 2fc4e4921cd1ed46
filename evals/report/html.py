"""A self-contained HTML report: inline CSS and SVG plots, no external assets."""

from html import escape

from evals.metrics import GroupMetrics
from evals.report.markdown import k_of, pct
from evals.runner import RunResult

DIFFICULTIES = ("easy", "medium", "hard")
SVG = "http://www.w3.org/2000/svg"
COLOURS = {"easy": "#4c9f70", "medium": "#e0a030", "hard": "#c0504d"}
CSS = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:14px}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
th{background:#f2f2f2} .fail{color:#b00} .pass{color:#070}
svg text{font-size:12px;font-family:system-ui,sans-serif}
"""


def render_html(result: RunResult) -> str:
    """The whole report as one HTML document."""
    m = result.metrics
    k = k_of(result)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Lotsen eval run</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>Lotsen eval run</h1>",
        f"<p>{len(result.scenarios)} scenarios &times; {result.trials} trials at "
        f"{escape(', '.join(result.tiers))}; {m.overall.cases} cases in {result.wall_s:.0f} s "
        f"({result.jobs} job(s), {escape(result.host)}); "
        f"started {result.started_at:%Y-%m-%d %H:%M} UTC.</p>",
        f"<p>pass@1 <b>{pct(m.overall.pass_at_1)}</b>, "
        f"pass^{k} <b>{pct(m.overall.pass_hat_k.get(k))}</b>, "
        f"false-positive rate on {m.overall.controls} controls "
        f"<b>{pct(m.overall.false_positive_rate)}</b>, "
        f"tokens {m.overall.input_tokens + m.overall.output_tokens:,}, "
        f"cost {m.overall.cost:.4f}.</p>",
        f"<h2>Success by agent and difficulty (pass@1, hatched: pass^{k})</h2>",
        success_chart(m.by_agent_difficulty, k),
        "<h2>Cost vs success per tier</h2>",
        cost_chart(
            m.by["tier"],
            {f"{t} / {a}": g for t in m.by["tier"] for a, g in _tier_agent(result, t).items()},
        ),
        f"<h2>pass@1 / pass^{k} by agent and difficulty</h2>",
        _agent_table(result),
    ]
    for grouping in ("level", "split", "tier"):
        parts += [f"<h2>By {grouping}</h2>", _group_table(m.by[grouping], k)]
    parts += ["<h2>By tag</h2>", _group_table(m.by_tag, k)]
    parts += ["<h2>Scenarios</h2>", _scenario_table(result)]
    failures = [c for c in result.cases if not c.passed]
    if failures:
        parts.append("<h2>Failed trials</h2><ul>")
        for c in failures[:100]:
            why = c.error or "; ".join(f"{o.oracle}: {o.detail}" for o in c.oracles if not o.passed)
            parts.append(
                f"<li><code>{escape(c.scenario)}</code> trial {c.trial} "
                f"({escape(c.tier)}): {escape(why)}</li>"
            )
        parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _tier_agent(result: RunResult, tier: str) -> dict[str, GroupMetrics]:
    from evals.metrics import compute_metrics

    cases = [c for c in result.cases if c.tier == tier]
    return compute_metrics(cases, result.trials).by["agent"] if cases else {}


def success_chart(rows: dict[str, dict[str, GroupMetrics]], k: int) -> str:
    """Grouped bars: one group per agent, one bar per difficulty (pass@1, pass^k inside)."""
    agents = sorted(rows)
    bar, gap, height, left, top = 22, 26, 200, 40, 20
    width = left + len(agents) * (3 * bar + gap) + 160
    out = [f"<svg xmlns='{SVG}' width='{width}' height='{height + 70}' role='img'>"]
    for tick in (0, 25, 50, 75, 100):
        y = top + height - tick / 100 * height
        out.append(f"<line x1='{left}' x2='{width - 150}' y1='{y}' y2='{y}' stroke='#ddd'/>")
        out.append(f"<text x='4' y='{y + 4}'>{tick}%</text>")
    for i, agent in enumerate(agents):
        x0 = left + 10 + i * (3 * bar + gap)
        for j, diff in enumerate(DIFFICULTIES):
            g = rows[agent].get(diff)
            if g is None:
                continue
            x = x0 + j * bar
            h1 = g.pass_at_1 * height
            hk = g.pass_hat_k.get(k, 0.0) * height
            out.append(
                f"<rect x='{x}' y='{top + height - h1}' width='{bar - 3}' height='{h1}' "
                f"fill='{COLOURS[diff]}' opacity='0.45'><title>{escape(agent)} {diff}: pass@1 "
                f"{pct(g.pass_at_1)} ({g.scenarios} scenarios)</title></rect>"
            )
            out.append(
                f"<rect x='{x}' y='{top + height - hk}' width='{bar - 3}' height='{hk}' "
                f"fill='{COLOURS[diff]}'><title>{escape(agent)} {diff}: pass^{k} "
                f"{pct(g.pass_hat_k.get(k))}</title></rect>"
            )
        out.append(f"<text x='{x0}' y='{top + height + 18}'>{escape(agent)}</text>")
    for j, diff in enumerate(DIFFICULTIES):
        y = top + 10 + j * 18
        out.append(
            f"<rect x='{width - 140}' y='{y - 10}' width='12' height='12' fill='{COLOURS[diff]}'/>"
        )
        out.append(f"<text x='{width - 122}' y='{y}'>{diff}</text>")
    out.append(
        f"<text x='{width - 140}' y='{top + 70}'>light: pass@1</text>"
        f"<text x='{width - 140}' y='{top + 86}'>solid: pass^{k}</text></svg>"
    )
    return "".join(out)


def cost_chart(tiers: dict[str, GroupMetrics], points: dict[str, GroupMetrics]) -> str:
    """Scatter: cost per scenario (x) vs pass@1 (y), per tier (large) and tier/agent (small)."""
    width, height, left, top = 620, 260, 50, 20
    costs = [g.cost_per_scenario for g in [*tiers.values(), *points.values()]] or [0.0]
    xmax = max(costs) or 1.0
    out = [f"<svg xmlns='{SVG}' width='{width}' height='{height + 50}' role='img'>"]
    out.append(
        f"<line x1='{left}' y1='{top + height}' x2='{width - 20}' y2='{top + height}' "
        "stroke='#999'/>"
    )
    out.append(f"<line x1='{left}' y1='{top}' x2='{left}' y2='{top + height}' stroke='#999'/>")
    for tick in (0, 50, 100):
        y = top + height - tick / 100 * height
        out.append(f"<text x='8' y='{y + 4}'>{tick}%</text>")
    out.append(
        f"<text x='{left}' y='{top + height + 30}'>cost per scenario (0 .. {xmax:.4g})</text>"
    )

    def place(g: GroupMetrics) -> tuple[float, float]:
        x = left + 10 + g.cost_per_scenario / xmax * (width - left - 80)
        return x, top + height - g.pass_at_1 * height

    for name, g in points.items():
        x, y = place(g)
        out.append(
            f"<circle cx='{x:.1f}' cy='{y:.1f}' r='4' fill='#888' opacity='0.6'>"
            f"<title>{escape(name)}: "
            f"{pct(g.pass_at_1)}, cost {g.cost_per_scenario:.4g}</title></circle>"
        )
    for name, g in tiers.items():
        x, y = place(g)
        out.append(
            f"<circle cx='{x:.1f}' cy='{y:.1f}' r='8' fill='#3366aa'>"
            f"<title>{escape(name)}</title></circle>"
        )
        out.append(
            f"<text x='{x + 10:.1f}' y='{y + 4:.1f}'>{escape(name)} {pct(g.pass_at_1)}</text>"
        )
    out.append("</svg>")
    return "".join(out)


def _agent_table(result: RunResult) -> str:
    m, k = result.metrics, k_of(result)
    head = (
        "<table><tr><th>agent</th>"
        + "".join(f"<th>{d}</th>" for d in DIFFICULTIES)
        + "<th>all</th></tr>"
    )
    rows = []
    for agent, row in sorted(m.by_agent_difficulty.items()):
        cells = "".join(f"<td>{_cell(row.get(d), k)}</td>" for d in DIFFICULTIES)
        rows.append(
            f"<tr><td>{escape(agent)}</td>{cells}<td>{_cell(m.by['agent'].get(agent), k)}</td></tr>"
        )
    total = "".join(f"<td>{_cell(m.by['difficulty'].get(d), k)}</td>" for d in DIFFICULTIES)
    rows.append(f"<tr><th>all</th>{total}<td>{_cell(m.overall, k)}</td></tr>")
    return head + "".join(rows) + "</table>"


def _cell(g: GroupMetrics | None, k: int) -> str:
    if g is None:
        return "-"
    return f"{pct(g.pass_at_1)} / {pct(g.pass_hat_k.get(k))} <small>(n={g.scenarios})</small>"


def _group_table(groups: dict[str, GroupMetrics], k: int) -> str:
    head = (
        f"<table><tr><th>value</th><th>scenarios</th><th>pass@1</th><th>pass^{k}</th>"
        "<th>FP rate (controls)</th><th>tokens</th><th>cost</th><th>latency p95 s</th>"
        "<th>steps</th></tr>"
    )
    rows = [
        f"<tr><td>{escape(name)}</td><td>{g.scenarios}</td><td>{pct(g.pass_at_1)}</td>"
        f"<td>{pct(g.pass_hat_k.get(k))}</td><td>{pct(g.false_positive_rate)} ({g.controls})</td>"
        f"<td>{g.input_tokens + g.output_tokens:,}</td><td>{g.cost:.4f}</td>"
        f"<td>{g.latency_p95_s:.2f}</td><td>{g.steps_mean:.1f}</td></tr>"
        for name, g in sorted(groups.items())
    ]
    return head + "".join(rows) + "</table>"


def _scenario_table(result: RunResult) -> str:
    k = k_of(result)
    head = (
        "<table><tr><th>scenario</th><th>agent</th><th>level</th><th>difficulty</th><th>control</th>"
        f"<th>tier</th><th>passed</th><th>pass^{k}</th><th>tokens</th><th>cost</th>"
        "<th>latency s</th><th>steps</th></tr>"
    )
    rows = []
    for s in result.metrics.scenarios:
        cls = "pass" if s.successes == s.trials else "fail"
        rows.append(
            f"<tr><td>{escape(s.scenario)}</td><td>{s.agent}</td><td>{s.level}</td><td>{s.difficulty}</td>"
            f"<td>{'yes' if s.control else ''}</td><td>{escape(s.tier)}</td>"
            f"<td class='{cls}'>{s.successes}/{s.trials}</td><td>{pct(s.pass_hat_k.get(k))}</td>"
            f"<td>{s.tokens}</td><td>{s.cost:.4f}</td><td>{s.latency_mean_s:.2f}</td><td>{s.steps_mean:.1f}</td></tr>"
        )
    return head + "".join(rows) + "</table>"
