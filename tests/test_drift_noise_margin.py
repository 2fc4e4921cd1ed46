"""Material drift at small windows: a sample-size-aware margin, on both sides of it.

At 2,000 rows per window the normed Wasserstein distance between two samples of one
distribution reaches the fixed material cut-off (0.15) somewhere in a large fleet by
sampling alone; real shifts stay far above the margin.
"""

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from scipy.stats import wasserstein_distance

from tools.drift.incidents import MATERIAL_RATIO, NOISE_Z, group_incidents
from tools.drift.signals import FeatureSignal, ModelSignals

WINDOW = datetime(2026, 11, 3, tzinfo=UTC)


def margin(n_ref: int, n_cur: int) -> float:
    return math.sqrt(1 / n_ref + 1 / n_cur)


def window(score: float, n_ref: int, n_cur: int) -> ModelSignals:
    """One healthy-performance model whose feature f1 moved by `score` (normed Wasserstein)."""
    feature = FeatureSignal(
        feature="f1",
        test="wasserstein",
        score=score,
        threshold=0.1,
        drifted=True,
        psi=0.1,
        sample_margin=margin(n_ref, n_cur),
    )
    return ModelSignals(
        model="m1",
        pipeline="pipe-a",
        window_start=WINDOW,
        deployed_at=WINDOW - timedelta(days=30),
        drifted_features=["f1"],
        features=[feature],
        drift_share=0.05,
    )


def test_just_over_the_fixed_cut_off_at_2000_rows_is_noise_not_an_incident() -> None:
    just_over = 0.1 * MATERIAL_RATIO + 0.005  # 0.155: an incident before the margin
    assert group_incidents([window(just_over, 2000, 2000)]) == []


def test_real_drift_at_2000_rows_still_opens_an_incident() -> None:
    [incident] = group_incidents([window(0.25, 2000, 2000)])
    assert incident.kind == "covariate_drift" and incident.features == ["f1"]


def test_with_large_windows_the_fixed_cut_off_rules() -> None:
    [incident] = group_incidents([window(0.155, 20_000, 20_000)])
    assert incident.kind == "covariate_drift"


def test_the_margin_sits_above_sampling_noise_and_below_a_small_real_shift() -> None:
    rng = np.random.default_rng(16)
    n = 2000
    floor = NOISE_Z * margin(n, n)
    null = [wasserstein_distance(rng.normal(size=n), rng.normal(size=n)) for _ in range(1500)]
    assert max(null) < floor
    shifted = [
        wasserstein_distance(rng.normal(size=n), rng.normal(0.25, 1.0, size=n)) for _ in range(200)
    ]
    assert min(shifted) > floor


@pytest.mark.parametrize(("n_ref", "n_cur"), [(2000, 2000), (1000, 3000), (5000, 2000)])
def test_the_floor_is_five_times_the_sampling_scale(n_ref: int, n_cur: int) -> None:
    line = max(0.1 * MATERIAL_RATIO, NOISE_Z * margin(n_ref, n_cur))
    assert group_incidents([window(line, n_ref, n_cur)]) != []
    assert group_incidents([window(math.nextafter(line, 0.0), n_ref, n_cur)]) == []
