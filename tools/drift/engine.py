"""The fleet drift engine: data quality first, then per-feature drift, performance, latency.

Test choice follows Evidently's defaults: reference <= 1,000 rows -> KS (numeric) or
chi-squared (categorical / <= 5 distinct values) at p < 0.05; larger references ->
normed Wasserstein (numeric) or Jensen-Shannon distance (categorical) >= 0.1. Dataset drift
when >= 50% of features (optionally importance-weighted) drift. All statistics are computed
for every (model, feature) row of the fleet in one vectorised pass.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from tools.drift import stats
from tools.drift.batch import CodedNames, FeatureArrays, ModelArrays, ScanBatch
from tools.drift.signals import DqIssue, FeatureSignal, ModelSignals, TestName

TESTS: tuple[TestName, ...] = ("ks", "chi_square", "wasserstein", "jensen_shannon")


@dataclass(frozen=True)
class DriftConfig:
    """Thresholds (Evidently-compatible defaults)."""

    small_reference_rows: int = 1000
    p_value: float = 0.05
    distance: float = 0.1
    dataset_drift_share: float = 0.5
    importance_weighted: bool = False
    null_rate_jump: float = 0.1
    out_of_range_share: float = 0.5
    min_volume_ratio: float = 0.5
    max_lag_windows: float = 1.5
    metric_drop_abs: float = 0.03
    """Higher-is-better metrics (auc, f1, r2): drop of at least this much."""
    metric_rise_rel: float = 0.15
    """Lower-is-better metrics (rmse, mape): relative rise of at least this much."""
    latency_ratio: float = 1.5
    fdr_q: float = 0.01
    """False-discovery rate of the p-value tests across one scan (Benjamini-Hochberg):
    an incident needs a p-value that survives it (Lotsen's addition to Evidently)."""


@dataclass
class FeatureResults:
    """Per-row outcome of the vectorised tests."""

    test: NDArray[np.int64]
    """Index into TESTS."""
    score: NDArray[np.float64]
    threshold: NDArray[np.float64]
    drifted: NDArray[np.bool_]


CHUNK_ROWS = 1024
"""Rows per vectorised block. Each temporary is then ~280 kB: it stays in cache, and glibc
keeps reusing it instead of returning multi-MB blocks to the OS and faulting them back in
on every call (16k-row blocks spent ~60% of a fleet scan in page faults)."""


def feature_tests(f: FeatureArrays, config: DriftConfig) -> FeatureResults:
    """Pick each row's test by Evidently's rules, then compute each test on its rows only."""
    discrete = f.is_cat | (f.n_unique <= 5)
    small = f.ref_n <= config.small_reference_rows
    test = np.select(
        [small & ~discrete, small & discrete, ~small & ~discrete], [0, 1, 2], default=3
    )
    std = np.where(f.ref_std > 0, f.ref_std, 1.0)
    score = np.empty(f.rows)
    # rows grouped by test: a chunk then holds one test (two at a boundary) and is gathered
    # once, instead of once per test it mixes
    by_test = np.argsort(test, kind="stable")
    for start in range(0, f.rows, CHUNK_ROWS):
        rows = by_test[start : start + CHUNK_ROWS]
        rc, cc = f.ref_counts.take(rows, axis=0), f.cur_counts.take(rows, axis=0)
        p, q = stats.proportions(rc), stats.proportions(cc)  # shared by every statistic
        score[rows] = _scores(
            test[rows],
            rc,
            f.ref_sums.take(rows, axis=0),
            cc,
            f.cur_sums.take(rows, axis=0),
            p,
            q,
            std[rows],
        )
    is_p = test <= 1
    threshold = np.where(is_p, config.p_value, config.distance)
    drifted = np.where(is_p, score < threshold, score >= threshold)
    return FeatureResults(test=test, score=score, threshold=threshold, drifted=drifted)


def reported_psi(f: FeatureArrays, rows: NDArray[np.bool_]) -> NDArray[np.float64]:
    """PSI of the given rows (NaN elsewhere): only the features a scan reports carry one.

    PSI decides nothing; computing it for the drifted rows alone (every row with `detail`)
    spares a fifth of the statistics' time. Row for row the same values as over every row.
    """
    psi = np.full(f.rows, np.nan)
    wanted = np.flatnonzero(rows)
    for start in range(0, len(wanted), CHUNK_ROWS):
        part = wanted[start : start + CHUNK_ROWS]
        psi[part] = stats.psi(f.ref_counts[part], f.cur_counts[part])
    return psi


def _scores(
    test: NDArray[np.int64],
    rc: NDArray[np.float64],
    rs: NDArray[np.float64],
    cc: NDArray[np.float64],
    cs: NDArray[np.float64],
    p: NDArray[np.float64],
    q: NDArray[np.float64],
    std: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Each row's test statistic; p, q are the rows' proportions (`stats.proportions`)."""
    score = np.empty(len(test))
    for kind in np.unique(test):
        mask = test == kind
        sub = slice(None) if mask.all() else mask
        match int(kind):
            case 0:
                score[sub] = stats.ks_pvalue_of(rc[sub], cc[sub], p[sub], q[sub])[1]
            case 1:
                score[sub] = stats.chi_square_pvalue(rc[sub], cc[sub])
            case 2:
                score[sub] = (
                    stats.wasserstein_of(rc[sub], rs[sub], cc[sub], cs[sub], p[sub], q[sub])
                    / std[sub]
                )
            case _:
                score[sub] = stats.jensen_shannon_of(p[sub], q[sub])
    return score


def feature_dq(f: FeatureArrays, config: DriftConfig) -> dict[str, NDArray[np.bool_]]:
    """Per-row data-quality failures."""
    ref_null = np.divide(
        f.ref_nulls,
        f.ref_n + f.ref_nulls,
        out=np.zeros_like(f.ref_n),
        where=(f.ref_n + f.ref_nulls) > 0,
    )
    total = f.cur_n + f.cur_nulls + f.invalid
    cur_null = np.divide(f.cur_nulls, total, out=np.zeros_like(total), where=total > 0)
    oob = np.where(f.is_cat, 0.0, f.cur_counts[:, 0] + f.cur_counts[:, -1])
    oob_share = np.divide(oob, f.cur_n, out=np.zeros_like(oob), where=f.cur_n > 0)
    present = ~f.missing
    return {
        "missing_feature": f.missing,
        "type_change": present & f.type_mismatch,
        "null_spike": present & (cur_null - ref_null > config.null_rate_jump),
        "invalid_values": present & (f.invalid > 0.01 * np.maximum(total, 1)),
        "out_of_range": present & ~f.type_mismatch & (oob_share > config.out_of_range_share),
    }


def scan(
    batch: ScanBatch, config: DriftConfig | None = None, *, detail: bool = False
) -> list[ModelSignals]:
    """Scan every model of the batch; return the models with any signal (all if `detail`)."""
    config = config or DriftConfig()
    signals, p_values = scan_partial(batch, config, detail=detail)
    return with_fdr_cutoff(signals, p_values, config)


def with_fdr_cutoff(
    signals: list[ModelSignals], p_values: NDArray[np.float64], config: DriftConfig
) -> list[ModelSignals]:
    """Set the scan-wide false-discovery-rate cutoff (from every part's p-values) on each model."""
    cutoff = stats.fdr_cutoff(p_values, config.fdr_q)
    for s in signals:
        s.p_cutoff = cutoff
    return signals


def scan_partial(
    batch: ScanBatch, config: DriftConfig, *, detail: bool = False
) -> tuple[list[ModelSignals], NDArray[np.float64]]:
    """Scan one part of a fleet: its signals (cutoff not set yet) and its p-values for the FDR.

    Every model's result depends on its own rows only, except the false-discovery-rate
    cutoff, which is computed over the whole scan: a partitioned scan concatenates the
    parts' p-values and calls `with_fdr_cutoff` once.
    """
    f, m = batch.features, batch.models
    results = feature_tests(f, config)
    dq = feature_dq(f, config)
    dq_any_row = np.logical_or.reduce(list(dq.values()))
    n_models = len(m.model)
    dq_rows_per_model = np.bincount(f.model_index, weights=dq_any_row, minlength=n_models)
    weights = f.importance if config.importance_weighted else np.ones(f.rows)
    share = np.bincount(
        f.model_index, weights=weights * results.drifted, minlength=n_models
    ) / np.maximum(np.bincount(f.model_index, weights=weights, minlength=n_models), 1e-12)
    volume_low = m.rows < config.min_volume_ratio * m.expected_rows
    stale = m.freshness_lag_h > config.max_lag_windows * m.window_hours
    perf_drop = _worse(m.metric_value, m.reference_metric, m.higher_is_better, config)
    estimated, estimate_reference, estimated_drop = _estimated(m, config)
    latency = np.divide(
        m.latency_p95_ms,
        m.baseline_latency_ms,
        out=np.ones_like(m.latency_p95_ms),
        where=m.baseline_latency_ms > 0,
    )
    broken = (dq_rows_per_model > 0) | volume_low | stale
    drifting = ~broken & (
        np.bincount(f.model_index, weights=results.drifted, minlength=n_models) > 0
    )
    flagged = broken | drifting | perf_drop | estimated_drop | (latency >= config.latency_ratio)
    p_rows = np.isin(results.test, [TESTS.index("ks"), TESTS.index("chi_square")])
    p_values = results.score[p_rows & ~broken[f.model_index]]
    psi = reported_psi(f, results.drifted | detail)
    reported = flagged | detail
    of_reported = reported[f.model_index]
    drift_read = of_reported & ~broken[f.model_index]  # a broken window's drift is not read
    shown = (results.drifted & drift_read) | (detail & of_reported)
    # the rows each model reports, built for the whole part at once, grouped by model
    order = f.order if f.order is not None else np.argsort(f.model_index, kind="stable")
    kept = order[shown[order]]
    features, feature_at = _feature_signals(f, results, psi, kept), _bounds(f, kept, n_models)
    drifted = order[(results.drifted & drift_read)[order]]
    drifted_names, drifted_at = _names(f.feature, drifted), _bounds(f, drifted, n_models)
    rows_of = _rows_by_model(f.model_index, n_models, f.order) if dq_any_row.any() else []
    share_of, latency_of = share.tolist(), latency.tolist()
    metric_value, reference_metric = m.metric_value.tolist(), m.reference_metric.tolist()
    out = []
    for i in np.flatnonzero(reported).tolist():
        row_issues = _dq_issues(f, dq, rows_of[i]) if dq_rows_per_model[i] else []
        issues = row_issues + _window_issues(m, i, volume_low[i], stale[i])
        lost = bool(broken[i])
        out.append(
            ModelSignals(
                model=m.model[i],
                pipeline=m.pipeline[i],
                window_start=m.window_start[i],
                deployed_at=m.deployed_at[i],
                dq_issues=issues,
                drifted_features=drifted_names[drifted_at[i] : drifted_at[i + 1]],
                drift_share=0.0 if lost else share_of[i],
                dataset_drift=not lost and share_of[i] >= config.dataset_drift_share,
                metric=m.metric[i],
                metric_value=_num(metric_value[i]),
                reference_metric=_num(reference_metric[i]),
                performance_drop=bool(perf_drop[i]),
                estimated_metric=_num(estimated[i]),
                estimate_reference=_num(estimate_reference[i]),
                estimated_drop=bool(estimated_drop[i]),
                latency_ratio=latency_of[i],
                latency_regression=latency_of[i] >= config.latency_ratio,
                features=features[feature_at[i] : feature_at[i + 1]],
            )
        )
    return out, p_values


def _worse(
    value: NDArray[np.float64],
    reference: NDArray[np.float64],
    higher_is_better: NDArray[np.bool_],
    config: DriftConfig,
) -> NDArray[np.bool_]:
    """Where a metric dropped (or rose, lower-is-better) past the config's limits."""
    known = ~np.isnan(value) & ~np.isnan(reference)
    drop = reference - value
    rise = np.divide(
        value - reference,
        np.abs(reference),
        out=np.zeros_like(drop),
        where=np.abs(reference) > 0,
    )
    worse = np.where(
        higher_is_better, drop >= config.metric_drop_abs, rise >= config.metric_rise_rel
    )
    return known & worse


def _estimated(
    m: ModelArrays, config: DriftConfig
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """Estimate, its reference and its drop, for windows without a realised metric only."""
    none = np.full(len(m.model), np.nan)
    if m.estimated_metric is None or m.estimate_reference is None:
        return none, none, np.zeros(len(m.model), dtype=bool)
    unlabelled = np.isnan(m.metric_value)
    estimated = np.where(unlabelled, m.estimated_metric, np.nan)
    reference = np.where(unlabelled, m.estimate_reference, np.nan)
    return estimated, reference, _worse(estimated, reference, m.higher_is_better, config)


def _rows_by_model(
    model_index: NDArray[np.int64], n_models: int, order: NDArray[np.int64] | None
) -> list[NDArray[np.int64]]:
    """Each model's rows, in `order` (rows grouped by model) or else in row order."""
    if order is None:
        order = np.argsort(model_index, kind="stable")
    bounds = np.searchsorted(model_index[order], np.arange(n_models + 1))
    return [order[bounds[i] : bounds[i + 1]] for i in range(n_models)]


def _dq_issues(
    f: FeatureArrays, dq: dict[str, NDArray[np.bool_]], rows: NDArray[np.int64]
) -> list[DqIssue]:
    issues = []
    for kind, mask in dq.items():
        for r in rows[mask[rows]]:
            issues.append(
                DqIssue(kind=kind, feature=f.feature[r], detail=_dq_detail(kind, f, int(r)))
            )
    return issues


def _dq_detail(kind: str, f: FeatureArrays, r: int) -> str:
    total = f.cur_n[r] + f.cur_nulls[r] + f.invalid[r]
    match kind:
        case "missing_feature":
            return "column absent from the current window (schema change?)"
        case "type_change":
            return "values are no longer numeric"
        case "null_spike":
            ref_rate = f.ref_nulls[r] / max(f.ref_n[r] + f.ref_nulls[r], 1)
            return f"{f.cur_nulls[r] / max(total, 1):.0%} nulls (reference {ref_rate:.0%})"
        case "invalid_values":
            return f"{int(f.invalid[r])} infinite or non-numeric values"
        case _:
            oob = f.cur_counts[r, 0] + f.cur_counts[r, -1]
            share = oob / max(f.cur_n[r], 1)
            return f"{share:.0%} of values outside the reference range (unit change?)"


def _window_issues(m: ModelArrays, i: int, volume_low: bool, stale: bool) -> list[DqIssue]:
    issues = []
    if volume_low:
        issues.append(
            DqIssue(
                kind="low_volume",
                detail=f"{int(m.rows[i])} rows, expected ~{int(m.expected_rows[i])}",
            )
        )
    if stale:
        issues.append(
            DqIssue(kind="stale", detail=f"newest data is {m.freshness_lag_h[i]:.0f} h old")
        )
    return issues


def _feature_signals(
    f: FeatureArrays, res: FeatureResults, psi: NDArray[np.float64], rows: NDArray[np.int64]
) -> list[FeatureSignal]:
    """The signals of the given rows, their values converted to Python once per part."""
    margin = np.sqrt(1 / np.maximum(f.ref_n[rows], 1) + 1 / np.maximum(f.cur_n[rows], 1))
    columns = zip(
        _names(f.feature, rows),
        res.test[rows].tolist(),
        res.score[rows].tolist(),
        res.threshold[rows].tolist(),
        res.drifted[rows].tolist(),
        psi[rows].tolist(),
        f.importance[rows].tolist(),
        margin.tolist(),
        strict=True,
    )
    return [
        FeatureSignal(
            feature=feature,
            test=TESTS[test],
            score=score,
            threshold=threshold,
            drifted=drifted,
            psi=psi_value,
            importance=importance,
            sample_margin=sample_margin,
        )
        for feature, test, score, threshold, drifted, psi_value, importance, sample_margin in (
            columns
        )
    ]


def _names(feature: Sequence[str], rows: NDArray[np.int64]) -> list[str]:
    """The feature names of the given rows."""
    if isinstance(feature, CodedNames):
        return feature.take(rows)
    return [feature[r] for r in rows.tolist()]


def _bounds(f: FeatureArrays, rows: NDArray[np.int64], n_models: int) -> list[int]:
    """Where each model's run starts in `rows` (grouped by model, ascending), and the end."""
    found: list[int] = np.searchsorted(f.model_index[rows], np.arange(n_models + 1)).tolist()
    return found


def _num(value: float) -> float | None:
    return None if value != value else value  # NaN: unknown
