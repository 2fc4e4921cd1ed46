"""`lotsen bench ...`: benchmarks with ratios against a baseline measured in the same run."""

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from lotsen.cli.context import console, print_json

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

    python = evidently_python if evidently_python.exists() else None
    if python is None:
        console.print(
            f"[yellow]Evidently not found at {evidently_python} (`make bench-env`); "
            "comparing Lotsen's own paths only[/yellow]"
        )
    sizes = [int(n) for n in fleet.split(",") if n.strip()]
    with console.status(f"benchmarking drift on {models} models x 35 columns ..."):
        result = bench_drift(models, rows, python, sizes)
    if as_json:
        print_json(result)
        return
    table = Table(
        title=f"Drift bench: {models} models, {rows} + {rows} rows x {result.columns} columns"
    )
    for column in ("path", "ms per model", "speed-up vs Evidently"):
        table.add_column(column, justify="left" if column == "path" else "right")
    base = result.evidently_s
    rows_out = [
        ("Evidently 0.7 DataDriftPreset (baseline)", base),
        ("Lotsen from raw rows (bin current + scan)", result.lotsen_raw_s),
        ("Lotsen from raw rows incl. reference binning", result.lotsen_raw_with_reference_s),
        ("Lotsen from pre-binned counts", result.lotsen_binned_s),
    ]
    for label, seconds in rows_out:
        if seconds is None:
            continue
        ratio = f"{base / seconds:,.0f}x" if base else "-"
        table.add_row(label, f"{seconds * 1000:,.2f}", "1x" if seconds is base else ratio)
    console.print(table)
    if result.agreement is not None:
        console.print(
            f"Agreement with Evidently on drifted columns: {result.agreement:.1%} "
            f"({result.flagged_by_evidently} flagged by Evidently; "
            f"Lotsen-only {result.lotsen_only}, Evidently-only {result.evidently_only})"
        )
    fleet_table = Table(title="Fleet scan from pre-binned counts (30 features per model)")
    for column in ("models", "statistics s", "full scan s", "load from DuckDB s"):
        fleet_table.add_column(column, justify="right")
    for f in result.fleet:
        fleet_table.add_row(
            f"{f.models:,}",
            f"{f.compute_s:.3f}",
            f"{f.scan_s:.3f}",
            "-" if f.load_s is None else f"{f.load_s:.3f}",
        )
    console.print(fleet_table)
