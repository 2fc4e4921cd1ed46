"""Tables of `lotsen bench drift` and `lotsen bench scan`."""

import os

from rich.table import Table

from lotsen.bench.drift import DriftBench
from lotsen.bench.scan import ScanTiming
from lotsen.cli.context import console


def drift_tables(result: DriftBench) -> None:
    """The drift bench as tables: paths, agreement, estimates, fleet scans."""
    table = Table(
        title=f"Drift bench: {result.models} models, {result.rows} + {result.rows} rows x "
        f"{result.columns} columns (load average {result.load_avg[0]:.1f} -> "
        f"{result.load_avg[1]:.1f} on {os.cpu_count()} cores)"
    )
    for column in ("path", "ms per model", "vs Evidently", "vs NannyML"):
        table.add_column(column, justify="left" if column == "path" else "right")
    base, nml = result.evidently_s, result.nannyml_s
    rows_out = [
        ("Evidently 0.7 DataDriftPreset (baseline)", base),
        ("NannyML 0.13 univariate drift (KS + chi2)", nml),
        ("Lotsen storage path: bin current + scan", result.lotsen_raw_s),
        ("Lotsen storage path incl. reference binning", result.lotsen_raw_with_reference_s),
        ("Lotsen raw-row path: bin current + scan", result.lotsen_fast_s),
        ("Lotsen raw-row path incl. reference profile", result.lotsen_fast_with_reference_s),
        ("Lotsen from pre-binned counts", result.lotsen_binned_s),
    ]
    for label, seconds in rows_out:
        if seconds is None:
            continue
        table.add_row(
            label,
            f"{seconds * 1000:,.2f}",
            f"{base / seconds:,.0f}x" if base and seconds is not nml else "-",
            f"{nml / seconds:,.1f}x" if nml and seconds is not base else "-",
        )
    console.print(table)
    same = "the same" if result.fast_same_flags else "[red]different[/red]"
    console.print(f"Raw-row path flags {same} columns as the storage path.")
    if result.agreement is not None:
        console.print(
            f"Agreement with Evidently on drifted columns: {result.agreement:.1%} "
            f"({result.flagged_by_evidently} flagged by Evidently; Lotsen-only "
            f"{result.lotsen_only}, of them beyond the threshold boundary "
            f"{result.lotsen_only_beyond_boundary}; Evidently-only {result.evidently_only})"
        )
    if result.nannyml_agreement is not None:
        console.print(f"Agreement with NannyML's KS/chi2 flags: {result.nannyml_agreement:.1%}")
    _estimate_table(result)
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


def _estimate_table(result: DriftBench) -> None:
    table = Table(title="Estimated performance without labels (CBPE / DLE)")
    columns = ("dataset", "metric", "realised", "Lotsen", "NannyML", "|diff|")
    for column in (*columns, "vs NannyML: fit+estimate", "estimate only"):
        table.add_column(column, justify="left" if column in ("dataset", "metric") else "right")
    for e in result.estimates:
        table.add_row(
            e.dataset,
            e.metric,
            f"{e.realised:.4f}",
            f"{e.lotsen:.4f}",
            "-" if e.nannyml is None else f"{e.nannyml:.4f}",
            "-" if e.nannyml is None else f"{abs(e.lotsen - e.nannyml):.4f}",
            "-" if e.nannyml_s is None else f"{e.nannyml_s / (e.lotsen_fit_s + e.lotsen_s):,.0f}x",
            "-" if e.nannyml_s is None else f"{e.nannyml_s / e.lotsen_s:,.0f}x",
        )
    console.print(table)


def scan_table(results: list[ScanTiming]) -> None:
    """The scan bench as one table."""
    table = Table(title="Fleet scan from DuckDB, streamed in blocks (30 features per model)")
    columns = ("models", "end to end s", "again s", "statistics s", "read once s", "vs read once")
    for column in (*columns, "stats vs memory pass", "scan peak MB", "peak MB", "load avg"):
        table.add_column(column, justify="right")
    for r in results:
        table.add_row(
            f"{r.models:,}",
            f"{r.scan_s:.2f}",
            f"{r.second_scan_s:.2f}",
            f"{r.statistics_s:.2f}",
            f"{r.read_once_s:.2f}",
            f"{r.scan_vs_read:.1f}x",
            f"{r.statistics_vs_memory:.0f}x",
            f"{r.scan_peak_mb:,.0f}",
            f"{r.peak_mb:,.0f}",
            f"{r.load_avg[0]:.1f}",
        )
    console.print(table)


def ray_scan_table(results: list[ScanTiming]) -> None:
    """The fleets also scanned on a local Ray cluster (`--engine ray`), if any."""
    rows = [r.ray for r in results if r.ray is not None]
    if not rows:
        return
    table = Table(title="The same fleets on a local Ray cluster (hash partitions)")
    columns = ("models", "partitions", "one process s", "Ray start s", "Ray scan s")
    for column in (*columns, "overhead", "with start", "same signals", "same incidents"):
        table.add_column(column, justify="right")
    for r in rows:
        table.add_row(
            f"{r.models:,}",
            str(r.partitions),
            f"{r.single_s:.2f}",
            f"{r.ray_start_s:.2f}",
            f"{r.ray_scan_s:.2f}",
            f"{r.overhead:.1f}x",
            f"{r.overhead_with_start:.1f}x",
            "yes" if r.same_signals else "NO",
            f"yes ({r.incidents})" if r.same_incidents else "NO",
        )
    console.print(table)
