"""`lotsen route explain TEXT | table | learn RUN...`: the router's decisions and registry."""

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from lotsen.cli import checks
from lotsen.cli.context import console, print_json, settings_of, world_of
from tools.errors import ConfigError, LotsenError

if TYPE_CHECKING:
    from agents.router.policy import RouteDecision
    from agents.router.registry import CapabilityRegistry

app = typer.Typer(help="The router: which agent and tier does each task, and why.")
RegistryOpt = Annotated[
    Path | None,
    typer.Option(help="Registry file (default: DATA_DIR/router/registry.yaml, else priors)."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _registry(ctx: typer.Context, path: Path | None) -> "CapabilityRegistry":
    from agents.router.chat import registry_for
    from agents.router.registry import CapabilityRegistry
    from world.llm import configured_tiers

    if path is not None:
        return CapabilityRegistry.load(checks.input_file("--registry", path))
    settings = settings_of(ctx)
    return registry_for(settings.data_dir, configured_tiers(settings))


@app.command("explain")
def explain_cmd(
    ctx: typer.Context,
    text: Annotated[
        str, typer.Argument(help="A chat question, or a task class (monitor/diagnose).")
    ],
    registry: RegistryOpt = None,
    target: Annotated[float, typer.Option(help="Fraction of the best tier's lower bound.")] = 0.98,
    down: Annotated[
        list[str] | None, typer.Option("--down", help="Treat this tier as down (repeatable).")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Show the decision for a question or a task class, without running it."""
    from agents.router.chat import chat_features
    from agents.router.policy import Router, RouteRequest, TierHealth
    from agents.router.tasks import all_classes, task_class_for_question

    text = checks.name("TEXT", text)
    target = checks.finite("--target", target, ge=0.01, le=1)
    reg = _registry(ctx, registry)
    health = TierHealth(down=dict.fromkeys(down or [], "marked down (--down)"))
    now = datetime.now(UTC)
    router = Router(reg, target=target, health=health, stale=reg.is_stale(now))
    if text in all_classes() or ("/" in text and " " not in text):
        request = RouteRequest(task_class=text, agent=text.split("/")[0])
    else:
        features: list[str] = []
        try:
            from world.assistant import assistant_port

            features = chat_features(text, assistant_port(world_of(ctx)))
        except LotsenError as exc:  # no world here: route on the words alone
            typer.echo(f"(no world to parse against: {exc}; features unknown)", err=True)
        request = RouteRequest(
            task_class=task_class_for_question(text), agent="assistant", features=features
        )
    decision = router.route(request)
    if as_json:
        print_json(decision)
        return
    _show(decision)


def _show(decision: "RouteDecision") -> None:
    console.print(f"task class: {decision.task_class}")
    console.print(f"features:   {', '.join(decision.features) or 'none'}")
    console.print(f"tier:       {decision.tier}   cascade: {' -> '.join(decision.cascade)}")
    console.print(f"verifier:   {decision.verifier or 'none (no cascade)'}")
    console.print(f"why:        {decision.why}")
    if decision.stale:
        console.print("warning:    the registry is stale; re-run the evals and `route learn`")
    table = Table(title="candidates (cheapest first)")
    for column in ("tier", "success", "lower bound", "mean cost", "source", "skipped"):
        table.add_column(
            column, justify="left" if column in ("tier", "source", "skipped") else "right"
        )
    for c in decision.candidates:
        table.add_row(
            c.tier, f"{c.success:.2f}", f"{c.ci_low:.2f}", f"{c.mean_cost:.5f}", c.source, c.skipped
        )
    console.print(table)


@app.command("table")
def table_cmd(ctx: typer.Context, registry: RegistryOpt = None, as_json: AsJson = False) -> None:
    """Show the capability registry: success with its 95% interval, tokens, cost, latency."""
    reg = _registry(ctx, registry)
    now = datetime.now(UTC)
    if as_json:
        print_json(reg)
        return
    if not reg.entries:
        console.print(
            f"sources: {'; '.join(reg.sources) or 'none'}\n"
            "nothing measured: every (task class, tier) uses its prior "
            "(`lotsen route learn RUN` measures it from eval results)"
        )
        return
    age_days = reg.age(now).total_seconds() / 86400
    stale = " STALE" if reg.is_stale(now) else ""
    console.print(
        f"registry {reg.schema_}: measured {reg.measured_at:%Y-%m-%d %H:%M} UTC "
        f"({age_days:.1f} days ago, stale after {reg.max_age_days:g}){stale}"
    )
    console.print(f"sources: {'; '.join(reg.sources) or 'none'}")
    table = Table()
    table.add_column("task class", no_wrap=True)
    for column in ("tier", "n", "ok", "CI 95%", "tokens", "cost", "s"):
        table.add_column(column, justify="left" if column == "tier" else "right")
    for e in reg.entries:
        table.add_row(
            e.task_class,
            e.tier,
            f"{e.trials:g}",
            f"{e.success:.2f}",
            f"{e.ci_low:.2f}-{e.ci_high:.2f}",
            f"{e.mean_tokens:.0f}",
            f"{e.mean_cost:.5f}",
            f"{e.mean_latency_s:.2f}",
        )
    console.print(table)


@app.command("learn")
def learn_cmd(
    ctx: typer.Context,
    runs: Annotated[list[Path], typer.Argument(help="Eval run folders or results.json files.")],
    out: Annotated[
        Path | None, typer.Option(help="Registry file (default: DATA_DIR/router/registry.yaml).")
    ] = None,
) -> None:
    """Measure the registry from `lotsen eval run` results (every tier they hold)."""
    from agents.router.chat import REGISTRY_FILE
    from agents.router.registry import TierInfo, learn
    from evals.report import load_result
    from evals.scenario import load_suite
    from lotsen.bench.router import case_runs, tier_info
    from world.llm import configured_tiers

    settings = settings_of(ctx)
    scenarios = load_suite()
    outcomes = []
    for path in runs:
        result = load_result(path)
        outcomes += [o for c in case_runs(result, scenarios) for o in c.outcomes.values()]
    if not outcomes:
        raise ConfigError("the runs hold no case of a known scenario; nothing to learn")
    priced = {t.name: tier_info(t) for t in configured_tiers(settings)}
    names = list(dict.fromkeys(o.tier for o in outcomes))
    tiers = [priced.get(n, TierInfo(name=n)) for n in names]
    registry = learn(outcomes, tiers, sources=[str(p) for p in runs])
    target = out or settings.data_dir / REGISTRY_FILE
    registry.save(target)
    console.print(f"{len(registry.entries)} entries from {len(outcomes)} outcomes -> {target}")
