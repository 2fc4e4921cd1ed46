"""Estimated performance without labels follows the realised one under covariate shift."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from tools.drift.calibration import Calibration, expected_roc_auc, fit_calibration
from tools.drift.estimate import estimate_classifier, estimate_regressor


def classifier_window(
    rng: np.random.Generator, n: int, shift: float, true_p: object
) -> tuple[np.ndarray, np.ndarray]:
    scores = 1 / (1 + np.exp(-rng.normal(shift, 1.5, n)))
    labels = (rng.random(n) < true_p(scores)).astype(float)  # type: ignore[operator]
    return scores, labels


@pytest.mark.parametrize("miscalibrated", [False, True])
def test_classifier_estimate_tracks_realised_metrics(miscalibrated: bool) -> None:
    rng = np.random.default_rng(4)

    def truth(s: np.ndarray) -> np.ndarray:
        return s**2 if miscalibrated else s

    ref_scores, ref_labels = classifier_window(rng, 20000, 0.0, truth)
    scores, labels = classifier_window(rng, 20000, 1.2, truth)  # covariate shift
    estimate = estimate_classifier(ref_scores, ref_labels, scores)
    realised_accuracy = float(np.mean((scores >= 0.5) == labels))
    if miscalibrated:
        assert estimate.calibrated
    assert estimate.accuracy == pytest.approx(realised_accuracy, abs=0.015)
    assert estimate.roc_auc == pytest.approx(roc_auc_score(labels, scores), abs=0.015)
    if miscalibrated:  # the raw scores would be far off: calibration is what makes it work
        raw = float(np.mean(np.where(scores >= 0.5, scores, 1 - scores)))
        assert abs(raw - realised_accuracy) > 0.05


def test_no_calibration_for_a_perfect_ranking_or_one_class() -> None:
    rng = np.random.default_rng(1)
    scores = rng.random(2000)
    for labels in ((scores > 0.5).astype(float), np.ones(2000)):
        calibration = fit_calibration(scores, labels)
        assert isinstance(calibration, Calibration) and len(calibration.x) == 0
        assert np.array_equal(calibration(scores), scores)


def test_well_calibrated_scores_are_left_alone_by_the_calibration() -> None:
    rng = np.random.default_rng(1)
    scores, labels = classifier_window(rng, 20000, 0.0, lambda s: s)
    calibration = fit_calibration(scores, labels)
    assert np.abs(calibration(scores) - scores).mean() < 0.02


def test_expected_auc_with_certain_labels_is_the_auc() -> None:
    rng = np.random.default_rng(2)
    scores = rng.random(500)
    labels = (rng.random(500) < scores).astype(float)
    assert expected_roc_auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores))


def test_regressor_estimate_follows_heteroscedastic_error() -> None:
    rng = np.random.default_rng(3)

    def window(n: int, centre: float, spread: float) -> tuple[np.ndarray, np.ndarray]:
        predictions = rng.normal(centre, spread, n)
        targets = predictions + rng.normal(0, 0.1 + np.abs(predictions), n)
        return predictions, targets

    ref_pred, ref_target = window(20000, 0.0, 1.5)
    pred, target = window(20000, 1.5, 0.5)  # predictions move to where errors are larger
    estimate = estimate_regressor(ref_pred, ref_target, pred)
    realised_mae = float(np.mean(np.abs(target - pred)))
    realised_rmse = float(np.sqrt(np.mean((target - pred) ** 2)))
    assert estimate.mae == pytest.approx(realised_mae, rel=0.05)
    assert estimate.rmse == pytest.approx(realised_rmse, rel=0.05)
    reference_mae = float(np.mean(np.abs(ref_target - ref_pred)))
    assert abs(reference_mae - realised_mae) > 0.15  # a constant loss model would miss it


@pytest.mark.parametrize(
    "draw",
    [
        lambda rng, n: rng.random(n),
        lambda rng, n: np.round(rng.random(n), 2),  # many tied scores
        lambda rng, n: rng.integers(0, 4, n).astype(float),  # four distinct scores
        lambda rng, n: np.append(rng.random(n - 2), [0.5, np.nextafter(0.5, 1)]),  # ulp apart
    ],
)
def test_isotonic_calibration_gives_sklearns_thresholds(draw: object) -> None:
    from sklearn.isotonic import IsotonicRegression

    from tools.drift.calibration import isotonic as _isotonic

    rng = np.random.default_rng(6)
    for n in (2, 50, 3000):
        scores = draw(rng, n)  # type: ignore[operator]
        labels = (rng.random(n) < scores**2).astype(float)
        ours = _isotonic(scores, labels)
        theirs = IsotonicRegression(out_of_bounds="clip").fit(scores, labels)
        assert np.array_equal(ours.x, theirs.X_thresholds_)
        assert np.array_equal(ours.y, theirs.y_thresholds_)


@pytest.mark.parametrize("decimals", [2, 3, None])
def test_calibration_decision_is_the_plain_computation_on_the_same_splits(
    decimals: int | None,
) -> None:
    """One sort shared by the ten fits, and the raw ranking from tie groups: same numbers."""
    from sklearn.isotonic import IsotonicRegression

    from tools.drift.calibration import CV_SPLITS, _Ranked, expected_calibration_error

    rng = np.random.default_rng(8)
    for power in (1.0, 1.3, 2.0):
        scores = rng.random(3000)
        scores = scores if decimals is None else np.round(scores, decimals)  # tied scores
        labels = (rng.random(3000) < scores**power).astype(float)
        order = np.lexsort((labels, scores))
        x, y = scores[order], labels[order]
        position = np.argsort(order)
        draws = np.random.default_rng(42)
        tests = [position[draws.permutation(3000)[:300]] for _ in range(CV_SPLITS)]
        fitted = []
        for test in tests:
            train = np.setdiff1d(np.arange(3000), test)
            model = IsotonicRegression(out_of_bounds="clip").fit(x[train], y[train])
            fitted.append(model.predict(x[test]))
        truth = np.concatenate([y[t] for t in tests])
        before = expected_calibration_error(np.concatenate([x[t] for t in tests]), truth)
        after = expected_calibration_error(np.concatenate(fitted), truth)
        ranked = _Ranked.of(scores, labels)
        assert ranked is not None
        assert ranked.held_out_errors(42) == pytest.approx((before, after), abs=1e-12)
        assert (len(fit_calibration(scores, labels).x) > 0) == (before > after)
