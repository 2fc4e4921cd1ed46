"""One feature's binned histograms against a reference: the distance test of a small sample.

Segments and seasonal references compare histograms that are not the model's stored
reference (a segment's rows, or the sum of past windows at the same weekday / hour band), one
model at a time. They always use Evidently's large-reference distances (normed Wasserstein for
numeric features, Jensen-Shannon for categorical ones) and carry the sampling-noise scale, so
`tools.drift.incidents` judges materiality exactly as for a fleet scan.
"""

import math

import numpy as np

from tools.drift import stats
from tools.drift.signals import FeatureSignal, TestName
from tools.telemetry.binning import FeatureKind, FeatureReference

DISTANCE = 0.1
"""Evidently's distance threshold (as `DriftConfig.distance`)."""


def compare(
    ref: FeatureReference,
    base_counts: list[float],
    base_sums: list[float],
    counts: list[float],
    sums: list[float],
) -> FeatureSignal | None:
    """The distance test of `counts` against `base_counts` (None if either side is empty).

    Args:
        ref: the model's stored reference of the feature (its kind, bins and spread).
        base_counts: the histogram compared against, on the reference's bins.
        base_sums: per-bin sums of values of `base_counts` (numeric features).
        counts: the histogram under test, on the same bins.
        sums: per-bin sums of values of `counts`.
    """
    rc = np.asarray([base_counts], dtype=np.float64)
    cc = np.asarray([counts], dtype=np.float64)
    n_base, n_cur = float(rc.sum()), float(cc.sum())
    if n_base <= 0 or n_cur <= 0 or rc.shape != cc.shape:
        return None
    margin = math.sqrt(1 / n_base + 1 / n_cur)
    if ref.kind is FeatureKind.NUMERIC:
        rs = np.asarray([base_sums], dtype=np.float64)
        cs = np.asarray([sums], dtype=np.float64)
        std = ref.std if ref.std > 0 else 1.0
        score = float(stats.wasserstein(rc, rs, cc, cs)[0]) / std
        test: TestName = "wasserstein"
    else:
        score = float(stats.jensen_shannon(rc, cc)[0])
        test = "jensen_shannon"
    return FeatureSignal(
        feature=ref.feature,
        test=test,
        score=score,
        threshold=DISTANCE,
        drifted=score >= DISTANCE,
        psi=float(stats.psi(rc, cc)[0]),
        sample_margin=margin if test == "wasserstein" else 0.0,
    )
