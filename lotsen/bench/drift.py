"""`lotsen bench drift`: Lotsen's drift scan against Evidently and NannyML, same data, same run.

(a) Evidently 0.7 `DataDriftPreset` and NannyML 0.13 univariate drift per model, run in
their own venv (pandas < 3, `make bench-env`); (b) Lotsen from raw rows through the storage
path (build_reference/bin_frame, pydantic models per column: how ingest stores them) and
through the raw-row path (tools/drift/rawrows.py: a model's numeric columns as one matrix
binned through lookup tables, quantiles by histogram selection, two threads), each with and
without reference binning; (c) Lotsen from pre-binned counts;
(d) estimated performance without labels against NannyML's CBPE/DLE; fleet scans of N
models x 30 features. Agreement = share of (model, column) drift flags that match
Evidently's. The load average is recorded before and after: compare within one run.
"""

import json
import os
import subprocess
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, TypeAdapter

from lotsen.bench.drift_estimates import (
    EstimateRow,
    add_nannyml,
    lotsen_estimates,
    performance_data,
    write_performance_data,
)
from lotsen.bench.drift_fleet import NOW, FleetTiming, fleet_timing, synthetic_batch
from tools.drift.batch import ModelArrays, ScanBatch
from tools.drift.engine import scan
from tools.drift.inmemory import ModelWindow, batch_from_profiles
from tools.drift.rawrows import bin_many, feature_arrays
from tools.drift.signals import ModelSignals
from tools.telemetry.binning import FeatureReference, FeatureWindow, bin_frame, build_reference
from tools.telemetry.store import ModelMeta, WindowFacts

__all__ = ["DriftBench", "FleetTiming", "bench_drift", "synthetic_batch"]
SHIFTS = (0.0, 0.02, 0.05, 0.08, 0.12, 0.2, 0.5, 1.0)
"""Mean shifts (in standard deviations) drawn per drifted feature: some near the 0.1 line."""
BOUNDARY = 0.01
"""A Lotsen-only flag whose Evidently score is within this of the threshold is a boundary
case (binned vs raw distance); one further away would be a real false positive."""
WORKERS = 2
DISTANCE = 0.1
"""Evidently's default threshold for its distance tests (what decides at 5,000 rows)."""


class EvidentlyResult(BaseModel):
    """What the Evidently runner reports for one model."""

    seconds: float
    drifted: list[str]
    scores: dict[str, float]


class BaselineDrift(BaseModel):
    """What the NannyML runner reports for one model."""

    seconds: float
    drifted: list[str]


class DriftBench(BaseModel):
    """One `bench drift` run."""

    models: int
    rows: int
    columns: int
    load_avg: tuple[float, float]
    """1-minute load average before and after the run (2 cores: above ~1 is contended)."""
    evidently_s: float | None
    """Seconds per model, Evidently default report (None if not installed)."""
    nannyml_s: float | None = None
    """Seconds per model, NannyML univariate drift (KS + chi-squared)."""
    lotsen_raw_s: float
    """Seconds per model, storage path: bin the current rows + scan (reference stored)."""
    lotsen_raw_with_reference_s: float
    """Seconds per model, storage path: bin reference and current rows + scan."""
    lotsen_fast_s: float
    """Seconds per model, raw-row path (two threads): bin current rows + scan."""
    lotsen_fast_with_reference_s: float
    """Seconds per model, raw-row path: profile the reference, bin current rows + scan."""
    fast_same_flags: bool
    """The raw-row path flags exactly the columns the storage path flags."""
    lotsen_binned_s: float
    """Seconds per model: scan from pre-binned counts (whole batch / models)."""
    agreement: float | None
    lotsen_only: int = 0
    lotsen_only_beyond_boundary: int = 0
    """Lotsen-only flags whose Evidently score is more than BOUNDARY from the threshold."""
    evidently_only: int = 0
    flagged_by_evidently: int = 0
    nannyml_agreement: float | None = None
    estimates: list[EstimateRow] = []
    fleet: list[FleetTiming] = []


def bench_drift(
    models: int, rows: int, evidently_python: Path | None, fleet_sizes: list[int], seed: int = 7
) -> DriftBench:
    """Run the comparison in a temporary directory."""
    load_before = os.getloadavg()[0]
    rng = np.random.default_rng(seed)
    data = [_model_data(rng, rows) for _ in range(models)]
    perf = performance_data(rng, rows)
    estimates = lotsen_estimates(perf)
    evidently = nannyml = None
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if evidently_python:
            evidently = _run_evidently(data, folder, evidently_python)
            write_performance_data(perf, folder)
            nannyml = _run_nannyml(folder, evidently_python)
    raw, raw_ref, windows = _lotsen_raw(data)
    models_part = batch_from_profiles(windows).models
    fast, fast_ref, fast_signals = _lotsen_fast(data, models_part)
    start = time.perf_counter()
    signals = scan(batch_from_profiles(windows))
    binned = (time.perf_counter() - start) / models
    ours = {s.model: set(s.drifted_features) for s in signals}
    result = DriftBench(
        models=models,
        rows=rows,
        columns=data[0][0].shape[1],
        load_avg=(load_before, 0.0),
        evidently_s=None,
        lotsen_raw_s=raw,
        lotsen_raw_with_reference_s=raw_ref,
        lotsen_fast_s=fast,
        lotsen_fast_with_reference_s=fast_ref,
        fast_same_flags=ours == {s.model: set(s.drifted_features) for s in fast_signals},
        lotsen_binned_s=binned,
        agreement=None,
        estimates=estimates,
        fleet=[fleet_timing(n) for n in fleet_sizes],
    )
    columns = data[0][0].columns.tolist()
    if evidently is not None:
        _compare(result, ours, evidently, columns)
    if nannyml is not None:
        drift = TypeAdapter(dict[str, BaselineDrift]).validate_python(nannyml["drift"])
        result.nannyml_s = float(np.mean([d.seconds for d in drift.values()]))
        result.nannyml_agreement = _agreement(ours, drift, columns)
        add_nannyml(result.estimates, nannyml["performance"])
    result.load_avg = (load_before, os.getloadavg()[0])
    return result


def _agreement(
    ours: dict[str, set[str]], theirs: dict[str, BaselineDrift], columns: list[str]
) -> float:
    same = sum(
        (c in ours.get(model, set())) == (c in set(t.drifted))
        for model, t in theirs.items()
        for c in columns
    )
    return same / max(len(theirs) * len(columns), 1)


def _run_nannyml(folder: Path, python: Path) -> dict[str, dict[str, dict[str, object]]] | None:
    """NannyML's drift and estimates on the files in `folder`; None if it is not installed."""
    probe = subprocess.run([str(python), "-c", "import nannyml"], capture_output=True, check=False)
    if probe.returncode != 0:
        return None
    out = folder / "nannyml.json"
    runner = Path(__file__).with_name("nannyml_runner.py")
    subprocess.run(
        [str(python), str(runner), str(folder), str(out)],
        check=True,
        stdout=subprocess.DEVNULL,
        env={"MPLCONFIGDIR": str(folder), "HOME": str(folder), "PATH": "/usr/bin:/bin"},
    )
    loaded: dict[str, dict[str, dict[str, object]]] = json.loads(out.read_text())
    return loaded


def _lotsen_fast(
    data: list[tuple[pd.DataFrame, pd.DataFrame]], models: ModelArrays
) -> tuple[float, float, list[ModelSignals]]:
    """The raw-row path over all models: with reference profiling, then steady state."""
    start = time.perf_counter()
    pairs = bin_many(data, workers=WORKERS)
    scan(ScanBatch(feature_arrays(pairs), models))
    with_ref = time.perf_counter() - start
    profiles = [(profile, cur) for (profile, _), (_, cur) in zip(pairs, data, strict=True)]
    start = time.perf_counter()
    steady = bin_many(profiles, workers=WORKERS)
    signals = scan(ScanBatch(feature_arrays(steady), models))
    current_only = time.perf_counter() - start
    return current_only / len(data), with_ref / len(data), signals


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
        stdout=subprocess.DEVNULL,
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
            score = outcome.scores.get(column)
            if a and not b and score is not None and score < DISTANCE - BOUNDARY:
                result.lotsen_only_beyond_boundary += 1
    result.evidently_s = float(np.mean(seconds))
    result.agreement = agree / total
    result.lotsen_only, result.evidently_only, result.flagged_by_evidently = (
        lotsen_only,
        evidently_only,
        flagged,
    )
