"""`lotsen bench drift`: Lotsen's drift scan against Evidently's default report, same data.

(a) Evidently 0.7 `DataDriftPreset` per model, run in its own venv (pandas < 3);
(b) Lotsen from raw rows: bin the current window + scan (and with the reference too);
(c) Lotsen from pre-binned counts; plus fleet scans of N models x 30 features.
Agreement = share of (model, column) drift flags that match Evidently's.
"""

import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from pydantic import BaseModel, TypeAdapter

from tools.drift.batch import FeatureArrays, ModelArrays, ScanBatch, load_batch
from tools.drift.engine import DriftConfig, feature_tests, scan
from tools.drift.inmemory import ModelWindow, batch_from_profiles
from tools.telemetry.binning import (
    SLOTS,
    FeatureReference,
    FeatureWindow,
    bin_frame,
    build_reference,
)
from tools.telemetry.store import ModelMeta, TelemetryStore, WindowFacts

NOW = datetime(2026, 11, 3, tzinfo=UTC)
SHIFTS = (0.0, 0.02, 0.05, 0.08, 0.12, 0.2, 0.5, 1.0)
"""Mean shifts (in standard deviations) drawn per drifted feature: some near the 0.1 line."""


class EvidentlyResult(BaseModel):
    """What the Evidently runner reports for one model."""

    seconds: float
    drifted: list[str]
    scores: dict[str, float]


class FleetTiming(BaseModel):
    """A fleet scan from pre-binned counts."""

    models: int
    features: int
    compute_s: float
    """All statistics for every (model, feature) row: the vectorised core."""
    scan_s: float
    """compute plus data-quality checks and building the per-model results."""
    load_s: float | None = None
    """Reading the batch from the DuckDB store (when measured)."""


class DriftBench(BaseModel):
    """One `bench drift` run."""

    models: int
    rows: int
    columns: int
    evidently_s: float | None
    """Seconds per model, Evidently default report (None if not installed)."""
    lotsen_raw_s: float
    """Seconds per model: bin the current rows + scan."""
    lotsen_raw_with_reference_s: float
    """Seconds per model: bin reference and current rows + scan."""
    lotsen_binned_s: float
    """Seconds per model: scan from pre-binned counts (whole batch / models)."""
    agreement: float | None
    lotsen_only: int = 0
    evidently_only: int = 0
    flagged_by_evidently: int = 0
    fleet: list[FleetTiming] = []


def bench_drift(
    models: int, rows: int, evidently_python: Path | None, fleet_sizes: list[int], seed: int = 7
) -> DriftBench:
    """Run the comparison in a temporary directory."""
    rng = np.random.default_rng(seed)
    data = [_model_data(rng, rows) for _ in range(models)]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        evidently = _run_evidently(data, folder, evidently_python) if evidently_python else None
    raw, raw_ref, windows = _lotsen_raw(data)
    start = time.perf_counter()
    signals = scan(batch_from_profiles(windows))
    binned = (time.perf_counter() - start) / models
    ours = {s.model: set(s.drifted_features) for s in signals}
    result = DriftBench(
        models=models,
        rows=rows,
        columns=data[0][0].shape[1],
        evidently_s=None,
        lotsen_raw_s=raw,
        lotsen_raw_with_reference_s=raw_ref,
        lotsen_binned_s=binned,
        agreement=None,
        fleet=[fleet_timing(n) for n in fleet_sizes],
    )
    if evidently is not None:
        _compare(result, ours, evidently, data[0][0].columns.tolist())
    return result


def _model_data(rng: np.random.Generator, rows: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    ref, cur = {}, {}
    for j in range(30):
        mean, std = rng.uniform(-100, 100), rng.uniform(0.5, 50)
        shift = rng.choice(SHIFTS) if rng.random() < 0.25 else 0.0
        ref[f"num_{j:02d}"] = rng.normal(mean, std, rows)
        cur[f"num_{j:02d}"] = rng.normal(mean + shift * std, std, rows)
    for j in range(5):
        labels = np.array([f"c{k}" for k in range(rng.integers(3, 10))], dtype=object)
        p = rng.dirichlet(np.full(len(labels), 3.0))
        q = rng.dirichlet(np.full(len(labels), 3.0)) if rng.random() < 0.2 else p
        ref[f"cat_{j}"] = rng.choice(labels, rows, p=p)
        cur[f"cat_{j}"] = rng.choice(labels, rows, p=q)
    return pd.DataFrame(ref), pd.DataFrame(cur)


def _run_evidently(
    data: list[tuple[pd.DataFrame, pd.DataFrame]], folder: Path, python: Path
) -> dict[str, EvidentlyResult]:
    for i, (ref, cur) in enumerate(data):
        ref.to_parquet(folder / f"m{i:03d}.ref.parquet")
        cur.to_parquet(folder / f"m{i:03d}.cur.parquet")
    out = folder / "evidently.json"
    runner = Path(__file__).with_name("evidently_runner.py")
    subprocess.run(
        [str(python), str(runner), str(folder), str(out)],
        check=True,
        env={"MPLCONFIGDIR": str(folder), "HOME": str(folder), "PATH": "/usr/bin:/bin"},
    )
    return TypeAdapter(dict[str, EvidentlyResult]).validate_json(out.read_text())


def _lotsen_raw(
    data: list[tuple[pd.DataFrame, pd.DataFrame]],
) -> tuple[float, float, list[ModelWindow]]:
    windows, with_ref, current_only = [], 0.0, 0.0
    for i, (ref, cur) in enumerate(data):
        start = time.perf_counter()
        refs = [build_reference(c, ref[c]) for c in ref.columns]
        mid = time.perf_counter()
        item = _model_window(f"m{i:03d}", refs, bin_frame(refs, cur), len(cur))
        scan(batch_from_profiles([item]))
        end = time.perf_counter()
        with_ref += end - start
        current_only += end - mid
        windows.append(item)
    return current_only / len(data), with_ref / len(data), windows


def _model_window(
    name: str, refs: list[FeatureReference], window: list[FeatureWindow], rows: int
) -> ModelWindow:
    meta = ModelMeta(
        model=name,
        version=1,
        pipeline="bench",
        metric="auc",
        reference_metric=0.9,
        baseline_latency_ms=10,
        deployed_at=NOW - timedelta(days=30),
        expected_rows=rows,
    )
    facts = WindowFacts(
        model=name,
        window_start=NOW,
        rows=rows,
        freshness_lag_h=1,
        schema_fingerprint="",
        latency_p95_ms=10,
        requests_per_s=1,
    )
    return ModelWindow(meta, refs, window, facts)


def _compare(
    result: DriftBench,
    ours: dict[str, set[str]],
    theirs: dict[str, EvidentlyResult],
    columns: list[str],
) -> None:
    agree = total = lotsen_only = evidently_only = flagged = 0
    seconds = []
    for model, outcome in theirs.items():
        evidently_flags = set(outcome.drifted)
        seconds.append(outcome.seconds)
        flagged += len(evidently_flags)
        for column in columns:
            a, b = column in ours.get(model, set()), column in evidently_flags
            total += 1
            agree += a == b
            lotsen_only += a and not b
            evidently_only += b and not a
    result.evidently_s = float(np.mean(seconds))
    result.agreement = agree / total
    result.lotsen_only, result.evidently_only, result.flagged_by_evidently = (
        lotsen_only,
        evidently_only,
        flagged,
    )


def fleet_timing(models: int, features: int = 30, with_store: bool = True) -> FleetTiming:
    """Time a fleet scan on synthetic pre-binned counts (and reading them from DuckDB)."""
    batch = synthetic_batch(models, features, np.random.default_rng(models))
    start = time.perf_counter()
    feature_tests(batch.features, DriftConfig())
    compute = time.perf_counter() - start
    start = time.perf_counter()
    scan(batch)
    scanned = time.perf_counter() - start
    load = _store_round_trip(batch) if with_store else None
    return FleetTiming(
        models=models, features=features, compute_s=compute, scan_s=scanned, load_s=load
    )


def synthetic_batch(models: int, features: int, rng: np.random.Generator) -> ScanBatch:
    """Pre-binned counts for models x features; 2% of rows drift."""
    rows = models * features
    p = rng.dirichlet(np.full(SLOTS, 8.0), size=rows)
    p[:, 0] = p[:, -1] = 0.0
    p /= p.sum(axis=1, keepdims=True)
    q = p.copy()
    drift = rng.random(rows) < 0.02
    q[drift] = np.roll(q[drift], 3, axis=1)
    q[:, 0] = q[:, -1] = 0.0
    q /= q.sum(axis=1, keepdims=True)
    centers = np.linspace(-3, 3, SLOTS)
    ref, cur = rng.multinomial(5000, p).astype(float), rng.multinomial(5000, q).astype(float)
    ones, n = np.ones(rows), np.full(rows, 5000.0)
    f = FeatureArrays(
        model_index=np.repeat(np.arange(models), features),
        feature=[f"f{j:02d}" for j in range(features)] * models,
        is_cat=rng.random(rows) < 0.2,
        ref_counts=ref,
        ref_sums=ref * centers,
        ref_n=n,
        ref_nulls=0 * ones,
        ref_std=ones,
        n_unique=n,
        importance=ones,
        cur_counts=cur,
        cur_sums=cur * centers,
        cur_n=n,
        cur_nulls=0 * ones,
        invalid=0 * ones,
        missing=np.zeros(rows, dtype=bool),
        type_mismatch=np.zeros(rows, dtype=bool),
    )
    m_ones = np.ones(models)
    m = ModelArrays(
        model=[f"m{i:05d}" for i in range(models)],
        pipeline=["p"] * models,
        window_start=[NOW] * models,
        deployed_at=[NOW - timedelta(days=30)] * models,
        window_hours=24 * m_ones,
        rows=5000 * m_ones,
        expected_rows=5000 * m_ones,
        freshness_lag_h=m_ones,
        metric=["auc"] * models,
        metric_value=0.9 * m_ones,
        reference_metric=0.9 * m_ones,
        higher_is_better=np.ones(models, dtype=bool),
        latency_p95_ms=10 * m_ones,
        baseline_latency_ms=10 * m_ones,
    )
    return ScanBatch(features=f, models=m)


def _store_round_trip(batch: ScanBatch) -> float:
    """Write the batch into an in-memory store, then time reading it back for a scan."""
    store = TelemetryStore(":memory:")
    f, m = batch.features, batch.models
    names = [m.model[i] for i in f.model_index]
    lists = pa.list_(pa.float64())
    store.bulk_insert(
        "models",
        pa.table(
            {
                "model": m.model,
                "version": [1] * len(m.model),
                "pipeline": m.pipeline,
                "metric": m.metric,
                "reference_metric": m.reference_metric,
                "higher_is_better": m.higher_is_better,
                "baseline_latency_ms": m.baseline_latency_ms,
                "deployed_at": m.deployed_at,
                "expected_rows": m.expected_rows.astype(np.int64),
                "window_hours": m.window_hours,
            }
        ),
    )
    store.bulk_insert(
        "reference",
        pa.table(
            {
                "model": names,
                "version": [1] * f.rows,
                "feature": f.feature,
                "kind": np.where(f.is_cat, "categorical", "numeric"),
                "edges": pa.array([[]] * f.rows, lists),
                "categories": pa.array([[]] * f.rows, pa.list_(pa.string())),
                "counts": pa.array(list(f.ref_counts), lists),
                "sums": pa.array(list(f.ref_sums), lists),
                "n": f.ref_n.astype(np.int64),
                "nulls": f.ref_nulls.astype(np.int64),
                "mean": f.ref_std * 0,
                "std": f.ref_std,
                "n_unique": f.n_unique.astype(np.int64),
                "importance": f.importance,
            }
        ),
    )
    store.bulk_insert(
        "window_bins",
        pa.table(
            {
                "model": names,
                "window_start": [NOW] * f.rows,
                "feature": f.feature,
                "counts": pa.array(list(f.cur_counts), lists),
                "sums": pa.array(list(f.cur_sums), lists),
                "n": f.cur_n.astype(np.int64),
                "nulls": f.cur_nulls.astype(np.int64),
                "invalid": f.invalid.astype(np.int64),
                "missing": f.missing,
                "type_mismatch": f.type_mismatch,
            }
        ),
    )
    store.bulk_insert(
        "windows",
        pa.table(
            {
                "model": m.model,
                "window_start": m.window_start,
                "rows": m.rows.astype(np.int64),
                "freshness_lag_h": m.freshness_lag_h,
                "schema_fingerprint": [""] * len(m.model),
                "metric_value": m.metric_value,
                "labelled_rows": m.rows.astype(np.int64),
                "latency_p95_ms": m.latency_p95_ms,
                "requests_per_s": m.window_hours * 0,
            }
        ),
    )
    start = time.perf_counter()
    load_batch(store)
    return time.perf_counter() - start
