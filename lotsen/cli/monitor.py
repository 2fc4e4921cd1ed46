"""`lotsen telemetry ...` and `lotsen scan`: simulate telemetry, scan the fleet for drift."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from lotsen.cli import checks
from lotsen.cli.context import console, print_json, progress_bar, world_of
from tools.errors import ConfigError, NotFoundError

if TYPE_CHECKING:  # world.monitoring imports pandas, DuckDB and SciPy: only inside commands
    from tools.drift.signals import ModelSignals
    from world.monitoring import ScanReport
    from world.world import World

telemetry_app = typer.Typer(help="Telemetry: simulate the fleet's windows, show injected faults.")
BARS = " ▁▂▃▄▅▆▇█"
MAX_WINDOWS = 366
"""Most daily windows `telemetry simulate` makes (a year)."""
MAX_ROWS = 1_000_000
"""Most rows per simulated window (every model's windows are held in memory at once)."""


@telemetry_app.command("simulate")
def simulate_cmd(
    ctx: typer.Context,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
    windows: Annotated[int, typer.Option(help="Daily windows after the reference.")] = 2,
    rows: Annotated[int, typer.Option(help="Rows per window (and in the reference).")] = 5000,
    faults: Annotated[
        bool, typer.Option(help="Inject the demo faults (else a quiet fleet).")
    ] = True,
    label_delay: Annotated[
        int,
        typer.Option(help="Newest windows whose labels are delayed (metric estimated instead)."),
    ] = 0,
) -> None:
    """Generate reference + current windows for every model, binned at ingest."""
    from tools.telemetry.reference_rows import MIN_REFERENCE_ROWS
    from world.monitoring import simulate_telemetry

    windows = checks.count("--windows", windows, most=MAX_WINDOWS)
    rows = checks.count("--rows", rows, least=MIN_REFERENCE_ROWS, most=MAX_ROWS)
    label_delay = checks.count("--label-delay", label_delay, least=0, most=windows)

    with progress_bar() as bar:
        task = bar.add_task("simulating telemetry", total=None)
        truth = simulate_telemetry(
            world_of(ctx),
            seed=seed,
            windows=windows,
            rows=rows,
            faults=faults,
            progress=lambda d, t: bar.update(task, completed=d, total=t),
            label_delay=label_delay,
        )
    delayed = f", labels delayed in the newest {label_delay}" if label_delay else ""
    console.print(
        f"Simulated {windows} window(s) of {rows} rows per model{delayed}; {len(truth)} "
        "fault(s) injected (`lotsen telemetry faults` shows the ground truth)."
    )


@telemetry_app.command("faults")
def faults_cmd(
    ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False
) -> None:
    """The injected faults (ground truth for tests and evals)."""
    found = world_of(ctx).telemetry.faults()
    if as_json:
        print_json(found)
        return
    for f in found:
        shown = ", ".join(f.models[:3]) + (f" +{len(f.models) - 3}" if len(f.models) > 3 else "")
        features = ", ".join(f.features)
        console.print(
            f"#{f.id} {f.kind} on {f.target}: {len(f.models)} model(s) [{shown}] {features}"
        )


def scan_cmd(
    ctx: typer.Context,
    model: Annotated[str | None, typer.Option(help="Per-feature detail for one model.")] = None,
    feature: Annotated[
        str | None, typer.Option(help="With --model: reference vs current histogram.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    engine: Annotated[
        str, typer.Option(help="local (one process) or ray (partitions by model hash).")
    ] = "local",
    partitions: Annotated[
        int, typer.Option(help="With --engine ray: partitions (0: one per 4,096 models).")
    ] = 0,
) -> None:
    """Scan the fleet's newest windows: data quality, drift, performance, latency -> incidents."""
    from world.monitoring import scan_fleet

    if feature is not None and model is None:
        raise ConfigError("--feature needs --model (the model whose histogram to show)")
    if engine not in ("local", "ray"):
        raise ConfigError(f"--engine must be local or ray, got {engine!r}")
    if engine == "ray" and model is not None:
        raise ConfigError("--engine ray scans the whole fleet; drop --model")
    partitions = checks.count("--partitions", partitions, least=0)
    world = world_of(ctx)
    if engine == "ray":
        from lotsen.cli.scan_ray import ray_scan

        report = ray_scan(world, partitions)
    else:
        # one model's detail reads the world only: a refused --feature must change nothing
        report = scan_fleet(world, detail=model is not None, record=model is None)
    if model is not None:
        _model_detail(world, report.signals, model, feature, as_json)
        return
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "models": report.models,
                    "features": report.features,
                    "seconds": report.seconds,
                    "incidents": [i.model_dump(mode="json") for i in report.incidents],
                    "signals": [s.model_dump(mode="json") for s in report.signals],
                },
                indent=2,
            )
        )
        return
    render_scan(report)


def render_scan(report: "ScanReport") -> None:
    """Summary line, incidents table, top drifted models."""
    console.print(
        f"Scanned {report.models} models x features = {report.features} feature windows "
        f"in {report.seconds:.2f} s; {len(report.incidents)} incident(s)."
    )
    table = Table(title="Incidents")
    for column in ("kind", "models", "pipeline", "probable cause"):
        table.add_column(column)
    for i in report.incidents:
        table.add_row(i.kind, str(len(i.models)), i.pipeline or "-", i.probable_cause)
    console.print(table)
    drifted = sorted(
        (s for s in report.signals if s.drifted_features), key=lambda s: -s.drift_share
    )[:10]
    if drifted:
        top = Table(title="Top drifted models")
        for column in ("model", "drift share", "drifted features", "metric now / reference"):
            top.add_column(column)
        for s in drifted:
            top.add_row(
                s.model, f"{s.drift_share:.0%}", ", ".join(s.drifted_features), _performance(s)
            )
        console.print(top)


def _performance(s: "ModelSignals") -> str:
    """The metric now against the reference: realised, or estimated while labels are delayed."""
    if s.metric_value is not None and s.reference_metric is not None:
        return f"{s.metric} {s.metric_value:.3f} / {s.reference_metric:.3f}"
    if s.estimated_metric is not None and s.estimate_reference is not None:
        return f"{s.metric} ~{s.estimated_metric:.3f} / ~{s.estimate_reference:.3f} (estimated)"
    return "-"


def _model_detail(
    world: "World", signals: "list[ModelSignals]", model: str, feature: str | None, as_json: bool
) -> None:
    found = next((s for s in signals if s.model == model), None)
    if found is None:
        raise NotFoundError(
            f"no telemetry for model {model!r}; `lotsen models list` shows the models"
        )
    if as_json:
        print_json(found)
        return
    console.print(
        f"[bold]{model}[/bold] (pipeline {found.pipeline}), window {found.window_start:%Y-%m-%d}: "
        f"drift share {found.drift_share:.0%}, {_performance(found)}, "
        f"p95 x{found.latency_ratio:.2f}"
    )
    for issue in found.dq_issues:
        console.print(
            f"[red]data quality[/red]: {issue.kind} {issue.feature or ''}: {issue.detail}"
        )
    table = Table()
    for column in ("feature", "test", "score", "threshold", "drifted", "psi"):
        table.add_column(column)
    for f in found.features:
        table.add_row(
            f.feature,
            f.test,
            f"{f.score:.4g}",
            f"{f.threshold:g}",
            "[red]yes[/red]" if f.drifted else "no",
            f"{f.psi:.3f}",
        )
    console.print(table)
    if feature is not None:
        console.print(_histogram(world, model, feature))


def _histogram(world: "World", model: str, feature: str) -> str:
    rows = world.telemetry.db.execute(
        "SELECT r.counts, w.counts FROM reference r JOIN models m USING (model) "
        "JOIN window_bins w ON w.model = r.model AND w.feature = r.feature "
        "WHERE r.model = ? AND r.feature = ? AND r.version = m.version "
        "ORDER BY w.window_start DESC LIMIT 1",
        [model, feature],
    ).fetchall()
    if not rows:
        raise NotFoundError(f"model {model!r} has no feature {feature!r} in its telemetry")
    lines = [f"{feature}: slots low-out | bins | high-out (or categories | other)"]
    for label, counts in (("reference", rows[0][0]), ("current  ", rows[0][1])):
        total = max(sum(counts), 1)
        peak = max(max(counts) / total, 1e-12)
        lines.append(
            f"{label} " + "".join(BARS[round(c / total / peak * (len(BARS) - 1))] for c in counts)
        )
    return "\n".join(lines)


@telemetry_app.command("reference")
def reference_cmd(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="Registered model.")],
    path: Annotated[Path, typer.Argument(help="Reference rows (Parquet or CSV).")],
    metric: Annotated[str, typer.Option(help="Performance metric name.")] = "auc",
    value: Annotated[
        float | None, typer.Option(help="The metric on reference data (default: unknown).")
    ] = None,
    lower_is_better: Annotated[bool, typer.Option(help="For rmse-like metrics.")] = False,
    latency_ms: Annotated[float, typer.Option(help="Baseline p95 latency.")] = 0.0,
    expected_rows: Annotated[int | None, typer.Option(help="Rows a window should have.")] = None,
    prediction_column: Annotated[
        str | None,
        typer.Option(help="Column of predictions (a classifier's P(y=1)) [default: prediction]."),
    ] = None,
    label_column: Annotated[str, typer.Option(help="Column of labels.")] = "label",
) -> None:
    """Compute a model's reference histograms from real rows (once per model version).

    The file needs at least 100 rows and the model's features; a file that does not
    qualify is refused and the current reference stays. Rows with predictions and labels
    also fit the estimate of the metric used while a window's labels are delayed (and give
    the reference metric when --value is not set).
    """
    from world.monitoring import ingest_reference

    if expected_rows is not None:
        checks.count("--expected-rows", expected_rows)
    done = ingest_reference(
        world_of(ctx),
        checks.name("MODEL", model),
        checks.input_file("PATH", path),
        metric=checks.name("--metric", metric),
        reference_metric=float("nan") if value is None else checks.finite("--value", value),
        higher_is_better=not lower_is_better,
        latency_ms=checks.finite("--latency-ms", latency_ms, ge=0),
        expected_rows=expected_rows,
        prediction=checks.name_or_none("--prediction-column", prediction_column),
        label=checks.name("--label-column", label_column),
    )
    console.print(
        f"{model}: reference histograms for {done.features} feature(s) from {path}; {done.estimate}"
    )


@telemetry_app.command("ingest")
def ingest_cmd(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="Monitored model.")],
    path: Annotated[Path, typer.Argument(help="Current window rows (Parquet or CSV).")],
    window_start: Annotated[datetime, typer.Option(help="Start of the window (ISO 8601, UTC).")],
    metric_value: Annotated[
        float | None, typer.Option(help="Realised metric, if labels exist.")
    ] = None,
    latency_ms: Annotated[float | None, typer.Option(help="Observed p95 latency.")] = None,
    lag_hours: Annotated[float, typer.Option(help="Age of the newest row.")] = 0.0,
    prediction_column: Annotated[
        str | None,
        typer.Option(help="Column of predictions [default: the reference's]."),
    ] = None,
) -> None:
    """Bin a window of real rows against the model's reference (then `lotsen scan`).

    Without --metric-value (labels delayed), the metric is estimated from the prediction
    column where the reference fitted an estimator; the realised metric, once ingested,
    replaces it in scans.
    """
    from world.monitoring import ingest_window

    start = window_start if window_start.tzinfo else window_start.replace(tzinfo=UTC)
    done = ingest_window(
        world_of(ctx),
        checks.name("MODEL", model),
        checks.input_file("PATH", path),
        window_start=start,
        metric_value=checks.finite_or_none("--metric-value", metric_value),
        latency_ms=checks.finite_or_none("--latency-ms", latency_ms, ge=0),
        freshness_lag_h=checks.finite("--lag-hours", lag_hours, ge=0),
        prediction=checks.name_or_none("--prediction-column", prediction_column),
    )
    console.print(
        f"{model}: window {start:%Y-%m-%d %H:%M} binned for {done.features} feature(s); "
        f"{done.estimate}"
    )


@telemetry_app.command("labels")
def labels_cmd(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="Monitored model.")],
    window_start: Annotated[datetime, typer.Option(help="Start of the window (ISO 8601, UTC).")],
    metric_value: Annotated[float, typer.Option(help="The metric its labels give.")],
    rows: Annotated[int, typer.Option(help="Labelled rows.")],
) -> None:
    """Labels arrived for an ingested window: its realised metric replaces the estimate."""
    from tools.telemetry.performance import record_labels

    start = window_start if window_start.tzinfo else window_start.replace(tzinfo=UTC)
    record_labels(
        world_of(ctx).telemetry,
        checks.name("MODEL", model),
        start,
        checks.finite("--metric-value", metric_value),
        checks.count("--rows", rows),
    )
    console.print(f"{model}: window {start:%Y-%m-%d %H:%M} now has its realised metric")
