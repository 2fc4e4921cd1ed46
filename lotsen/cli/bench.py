"""`lotsen bench ...`: benchmarks with ratios against a baseline measured in the same run."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from lotsen.cli import checks
from lotsen.cli.context import console, print_json, settings_of
from tools.errors import ConfigError

if TYPE_CHECKING:
    from lotsen.bench.killresume import SweepPoint, TrialResult

app = typer.Typer(help="Benchmarks (ratios against a baseline measured in the same run).")


@app.command("fleet")
def fleet(
    models: Annotated[int, typer.Option(help="Fleet size.")] = 200,
    seed: Annotated[int, typer.Option(help="Fleet seed.")] = 7,
    jobs: Annotated[int, typer.Option(help="Retraining jobs to submit to the twin.")] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Seeding cost versus bare MLflow calls, and twin operation throughput."""
    from lotsen.bench.fleet import bench_fleet

    models, jobs = checks.count("--models", models), checks.count("--jobs", jobs)

    with console.status(f"benchmarking a {models}-model fleet ..."):
        result = bench_fleet(models, seed, jobs)
    if as_json:
        print_json(result)
        return
    table = Table(title=f"Fleet bench: {models} models, seed {seed}")
    for column in ("measure", "seconds", "per item", "vs baseline"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    per_model = 1000 / models
    table.add_row(
        "bare MLflow calls (baseline)",
        f"{result.mlflow_baseline_s:.2f}",
        f"{result.mlflow_baseline_s * per_model:.1f} ms/model",
        "1.00x",
    )
    table.add_row(
        "lotsen seeding (registry + twin)",
        f"{result.lotsen_seed_s:.2f}",
        f"{result.lotsen_seed_s * per_model:.1f} ms/model",
        f"{result.overhead:.2f}x",
    )
    table.add_row(
        "  of which twin build + placement",
        f"{result.twin_build_s:.2f}",
        f"{result.twin_build_s * per_model:.2f} ms/model",
        "",
    )
    table.add_row(
        f"twin: submit {jobs} jobs",
        f"{result.job_submit_s:.2f}",
        f"{result.job_submit_s * 1000 / jobs:.2f} ms/job",
        "",
    )
    table.add_row("twin: advance 24 h", f"{result.advance_s:.2f}", "", "")
    console.print(table)


@app.command("drift")
def drift(
    models: Annotated[int, typer.Option(help="Models compared with Evidently.")] = 20,
    rows: Annotated[int, typer.Option(help="Rows in reference and in current data.")] = 5000,
    fleet: Annotated[str, typer.Option(help="Fleet sizes for the pre-binned scan.")] = "1000,10000",
    evidently_python: Annotated[
        Path, typer.Option(help="Python of the Evidently venv (make bench-env).")
    ] = Path(".venv-bench/bin/python"),
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Drift scan vs Evidently's default report on the same data; fleet scan times."""
    from lotsen.bench.drift import bench_drift
    from lotsen.cli.bench_render import drift_tables

    models, rows = checks.count("--models", models), checks.count("--rows", rows, least=100)
    sizes = _sizes("--fleet", fleet)
    python = evidently_python if evidently_python.exists() else None
    if python is None:
        console.print(
            f"[yellow]Evidently not found at {evidently_python} (`make bench-env`); "
            "comparing Lotsen's own paths only[/yellow]"
        )
    with console.status(f"benchmarking drift on {models} models x 35 columns ..."):
        result = bench_drift(models, rows, python, sizes)
    if as_json:
        print_json(result)
        return
    drift_tables(result)


@app.command("scan")
def scan_bench(
    models: Annotated[
        str, typer.Option(help="Fleet sizes (comma-separated), 30 features each.")
    ] = "1000,10000",
    engine: Annotated[
        str,
        typer.Option(
            help="local, or ray: also scan each fleet on a local Ray cluster and compare."
        ),
    ] = "local",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Fleet scan DuckDB -> signals in blocks: time, statistics, peak memory, read-once ratio."""
    import importlib.util

    from lotsen.bench.scan import bench_scan
    from lotsen.cli.bench_render import ray_scan_table, scan_table

    sizes = _sizes("--models", models)
    if engine not in ("local", "ray"):
        raise ConfigError(f"--engine must be local or ray, got {engine!r}")
    if engine == "ray" and importlib.util.find_spec("ray") is None:
        raise ConfigError("--engine ray needs Ray: pip install 'lotsen[ray]'")
    with console.status(f"writing and scanning fleets of {', '.join(map(str, sizes))} ..."):
        results = bench_scan(sizes, ray=engine == "ray")
    if as_json:
        print_json(results)
        return
    scan_table(results)
    ray_scan_table(results)


@app.command("remediation")
def remediation(
    kill_trials: Annotated[int, typer.Option(help="Kill/resume trials (each ~45 s).")] = 0,
    kill_sweep: Annotated[
        int, typer.Option(help="Kill points spread over the run's audit records (each ~45 s).")
    ] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Upstream break over 200 of 1,000 models at tier 0; optional SIGKILL/resume trials."""
    from lotsen.bench.remediation import bench_upstream_break

    kill_trials = checks.count("--kill-trials", kill_trials, least=0)
    kill_sweep = checks.count("--kill-sweep", kill_sweep, least=0)
    result = bench_upstream_break()
    trials = _kill_trials(kill_trials) if kill_trials else []
    sweep = _kill_sweep(kill_sweep) if kill_sweep else []
    if as_json:
        print_json([result, *trials, *sweep])
        return
    console.print(
        f"Upstream break in {result.broken} of {result.models} models: {result.incidents} incident "
        f"(vs {result.per_model_decisions} per-model decisions), {result.retrains} retrains, "
        f"decided in {result.decide_s:.2f} s at tier 0 (target < 5 s)."
    )
    if trials:
        same = sum(t.same_end_state for t in trials)
        killed = sum(t.killed for t in trials)
        console.print(
            f"Kill/resume: {same}/{len(trials)} trials ended in the reference state "
            f"({killed} processes actually killed mid-run)."
        )
        for t in trials:
            if not t.same_end_state:
                console.print(f"[red]delay {t.delay_s:.1f}s[/red]: {t.differences}")
    if sweep:
        same = sum(p.same_end_state for p in sweep)
        mid = sum(p.killed_mid_run for p in sweep)
        console.print(
            f"Kill sweep: {same}/{len(sweep)} kill points ended in the reference state "
            f"({mid} killed mid-run, at audit records "
            f"{', '.join(str(p.kill_at_record) for p in sweep)})."
        )
        for p in sweep:
            if not p.same_end_state:
                console.print(f"[red]record {p.kill_at_record}[/red]: {p.differences}")


def _sizes(option: str, text: str) -> list[int]:
    """Comma-separated fleet sizes, each at least 1."""
    try:
        sizes = [int(n) for n in text.split(",") if n.strip()]
    except ValueError:
        raise ConfigError(f"{option} must be comma-separated whole numbers, got {text!r}") from None
    if not sizes:
        raise ConfigError(f"{option} needs at least one fleet size")
    return [checks.count(option, n) for n in sizes]


def _kill_trials(count: int) -> list["TrialResult"]:
    import tempfile

    from lotsen.bench.killresume import run_trials

    with tempfile.TemporaryDirectory() as tmp:
        source = _seed_crash_world(Path(tmp) / "source")
        with console.status(f"running {count} kill/resume trials ..."):
            return run_trials(source, Path(tmp), count, max_delay_s=6.0)


def _kill_sweep(points: int) -> list["SweepPoint"]:
    import tempfile

    from lotsen.bench.killresume import run_sweep

    with tempfile.TemporaryDirectory() as tmp:
        source = _seed_crash_world(Path(tmp) / "source")
        with console.status(f"killing at {points} points spread over the run ..."):
            return run_sweep(source, Path(tmp), points)


def _seed_crash_world(source: Path) -> Path:
    """The 160-model world with telemetry and faults the crash trials start from."""
    from tools.fleet.generate import generate_fleet
    from world.monitoring import simulate_telemetry
    from world.seeding import build_world
    from world.settings import Settings
    from world.world import World

    settings = Settings(data_dir=source)
    with console.status("seeding a 160-model world for the trials ..."):
        build_world(settings, generate_fleet(160, seed=5), force=False)
        with World(settings) as world:
            simulate_telemetry(world, seed=5, windows=2, rows=3000, faults=True)
    return source


@app.command("packing")
def packing(
    deployments: Annotated[int, typer.Option(help="Model deployments (1-2 replicas each).")] = 1000,
    nodes: Annotated[int, typer.Option(help="Nodes in the pool (8 GPUs each).")] = 64,
    gpu_type: Annotated[str, typer.Option(help="MIG GPU type of the pool.")] = "H100-80GB",
    seed: Annotated[int, typer.Option(help="Seed of the deployment mix.")] = 11,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Packing model servers onto a MIG pool: GPUs vs the lower bound and first-fit, time."""
    from lotsen.bench.packing import bench_packing
    from tools.capacity.energy import parse_gpu_type

    deployments = checks.count("--deployments", deployments)
    nodes = checks.count("--nodes", nodes)
    result = bench_packing(deployments, nodes, seed, parse_gpu_type(gpu_type))
    if as_json:
        print_json(result)
        return
    table = Table(
        title=f"Packing bench: {result.deployments} deployments ({result.replicas} replicas) "
        f"onto {result.nodes} nodes ({result.gpus_in_pool} GPUs)"
    )
    for column in ("planner", "GPUs", "vs lower bound", "vs first-fit", "time"):
        table.add_column(column, justify="left" if column == "planner" else "right")
    bound, ff = result.lower_bound, result.first_fit_gpus
    rows = [
        ("lower bound (max of LP and volume bound)", bound, None),
        ("first-fit, arrival order (baseline)", ff, result.first_fit_s),
        ("best-fit decreasing", result.best_fit_decreasing_gpus, result.best_fit_decreasing_s),
        (f"Lotsen ({result.lotsen_method}, end to end)", result.lotsen_gpus, result.lotsen_s),
    ]
    for label, gpus, seconds in rows:
        table.add_row(
            label,
            str(gpus),
            f"{gpus / bound:.3f}x" if bound else "-",
            f"{gpus / ff:.3f}x" if ff else "-",
            "-" if seconds is None else f"{seconds * 1000:,.1f} ms",
        )
    console.print(table)
    console.print(
        f"Lotsen saves {ff - result.lotsen_gpus} GPUs "
        f"({(ff - result.lotsen_gpus) / result.gpus_in_pool:.1%} of the pool) against first-fit; "
        f"volume bound {result.volume_bound}."
    )


@app.command("startup")
def startup(
    ctx: typer.Context,
    runs: Annotated[int, typer.Option(help="Cold runs of each command.")] = 5,
    models: Annotated[
        int, typer.Option(help="Size of the temporary world (without `lotsen --data-dir`).")
    ] = 200,
    question: Annotated[
        str | None, typer.Option(help='Question for `lotsen ask` (default "Who owns <model>?").')
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Cold start of `--help`, `ask`, `scan`, `approvals list` vs `python -c pass`.

    The commands run on a world seeded (with telemetry) in a temporary directory, or on the
    one given as `lotsen --data-dir DIR bench startup`.
    """
    from lotsen.bench.startup import bench_startup

    runs, models = checks.count("--runs", runs), checks.count("--models", models)
    question = checks.name_or_none("--question", question)
    given = ctx.find_root().params.get("data_dir")
    data_dir = settings_of(ctx).data_dir if given is not None else None
    with console.status(f"seeding a world, then {runs} cold run(s) of each command ..."):
        result = bench_startup(runs, data_dir=data_dir, models=models, question=question)
    if as_json:
        print_json(result)
        return
    table = Table(
        title=f"Startup bench: {result.runs} cold run(s) each, {result.models}-model world"
    )
    for column in ("command", "median s", "min s", "max s", "vs baseline", "CPU s (median)"):
        table.add_column(column, justify="left" if column == "command" else "right")
    for timing in (result.baseline, *result.commands):
        table.add_row(
            timing.label,
            f"{timing.median_s:.3f}",
            f"{min(timing.wall_s):.3f}",
            f"{max(timing.wall_s):.3f}",
            f"{result.ratio(timing):.1f}x",
            f"{timing.cpu_median_s:.3f}",
        )
    console.print(table)


@app.command("router")
def router(
    ctx: typer.Context,
    targets: Annotated[
        list[str] | None,
        typer.Argument(help="Suites, scenario ids or paths (default: the whole eval suite)."),
    ] = None,
    results: Annotated[
        list[Path] | None,
        typer.Option(help="Take outcomes from these eval runs (folders or results.json)."),
    ] = None,
    profiles: Annotated[
        Path | None, typer.Option(help="Scripted tiers' behaviour (default: the shipped file).")
    ] = None,
    jobs: Annotated[int, typer.Option(help="Scenarios run in parallel.")] = 1,
    train_share: Annotated[float, typer.Option(help="Share of cases that calibrate.")] = 0.5,
    write_registry: Annotated[
        Path | None, typer.Option(help="Also write the learned registry to this file.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Always-largest vs always-tier-0 vs the router on the held-out split of the eval suite.

    Without LOTSEN_LLM_TIERS the LLM tiers are scripted doubles (the first line says so).
    """
    from evals.report import load_result
    from evals.scenario import load_suite
    from lotsen.bench.router import merged_results, run_router_bench
    from lotsen.cli.evals import resolve_targets
    from world.llm import configured_tiers

    settings = settings_of(ctx)
    jobs = checks.count("--jobs", jobs)
    train_share = checks.finite("--train-share", train_share, ge=0.05, le=0.95)
    scenarios = load_suite(resolve_targets(targets))
    with console.status(f"router bench over {len(scenarios)} scenarios ..."):
        result = run_router_bench(
            scenarios,
            configured=configured_tiers(settings),
            cache_dir=settings.data_dir / "evals" / "cache",
            jobs=jobs,
            results=merged_results([load_result(p) for p in results]) if results else None,
            profiles_path=profiles,
            train_share=train_share,
        )
    if write_registry is not None:
        result.registry.save(write_registry)
    if as_json:
        print_json(result)
        return
    typer.echo(result.first_line)
    table = Table(
        title=f"Router bench: held-out split, {result.test_cases} cases "
        f"(calibrated on {result.train_cases})"
    )
    for column in ("policy", "success", "passed", "LLM cost", "latency s/case", "escalations"):
        table.add_column(column, justify="left" if column == "policy" else "right")
    for p in result.policies:
        table.add_row(
            p.name,
            f"{p.success:.1%}",
            f"{p.passed}/{p.cases}",
            f"{p.cost:.4f}",
            f"{p.latency_s:.2f}",
            str(p.escalations),
        )
    console.print(table)
    fitted = result.calibration
    met = result.cost_reduction >= 0.70 and result.success_ratio >= 0.98
    console.print(
        f"router vs always-{result.largest}: cost -{result.cost_reduction:.1%}, success ratio "
        f"{result.success_ratio:.3f} (target: >= 70% lower cost at >= 0.98: "
        f"{'met' if met else 'NOT met'}); calibrated target {fitted.target:g}, "
        f"cascade floor {fitted.cascade_floor:g}"
    )


from lotsen.cli.bench_serve import serve_bench_cmd  # noqa: E402 -- registered last

app.command("serve")(serve_bench_cmd)
