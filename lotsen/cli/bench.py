"""`lotsen bench ...`: benchmarks with ratios against a baseline measured in the same run."""

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
    from lotsen.bench import bench_fleet

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
