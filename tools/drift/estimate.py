"""Performance without labels: estimated from prediction scores while the labels are delayed.

Classifiers, confidence-based (as NannyML's CBPE): scores calibrated on the labelled
reference (isotonic regression, only when held-out splits show it lowers the expected calibration
error, as NannyML decides) are the probability that each prediction is right;
expected accuracy is their mean, and expected ROC AUC integrates the expected true and
false positives over the ranking. Regressors, loss-based (NannyML's DLE, simplified): a
loss model fitted on the reference (absolute and squared error against the prediction,
piecewise linear over its quantile bins) gives each current prediction its expected
error; their means are the expected MAE and RMSE. Both need the model to stay right about
its own confidence: under concept drift (P(y|x) moves) no score-based estimate can see
the drop, only the labels can.
"""

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel

F64 = NDArray[np.float64]
ECE_BINS = 10
CV_SPLITS = 10
LOSS_BINS = 20


class ClassifierEstimate(BaseModel):
    """Expected metrics of a binary classifier on an unlabelled window."""

    accuracy: float
    roc_auc: float
    calibrated: bool
    """Whether the reference showed the scores needed calibration."""


class RegressorEstimate(BaseModel):
    """Expected errors of a regressor on an unlabelled window."""

    mae: float
    rmse: float


@dataclass(frozen=True)
class Calibration:
    """Isotonic map from raw scores to calibrated probabilities (identity when not needed)."""

    x: F64
    y: F64

    def __call__(self, scores: F64) -> F64:
        """Calibrated probabilities."""
        if len(self.x) == 0:
            return np.clip(scores, 0.0, 1.0)
        return np.asarray(np.interp(scores, self.x, self.y), dtype=np.float64)


def _isotonic(scores: F64, labels: F64) -> Calibration:
    """The thresholds of sklearn's `IsotonicRegression(out_of_bounds="clip")`, unchecked.

    The steps of its fit (sort by score then label, merge equal scores into their mean
    label, scipy's pool-adjacent-violators, drop the inner points of flat runs), so the same
    numbers in a fraction of the time (its input validation took most of a calibration).
    Inputs it would treat differently go to sklearn itself: non-finite values (it refuses
    them), labels other than 0/1 (means of ties summed in another order) and scores closer
    than float resolution without being equal (it merges those).
    """
    from scipy import optimize  # imported on first use, as sklearn was

    order = np.lexsort((labels, scores))
    x, y = scores[order], labels[order]
    step = np.diff(x)
    if (
        not (np.isfinite(x).all() and np.isin(y, (0.0, 1.0)).all())
        or ((step > 0) & (step < np.finfo(np.float64).resolution)).any()
    ):
        return _sklearn_isotonic(scores, labels)
    starts = np.flatnonzero(np.concatenate(([True], step > 0)))
    weight = np.diff(np.append(starts, len(x))).astype(np.float64)
    fitted = np.asarray(
        optimize.isotonic_regression(np.add.reduceat(y, starts) / weight, weights=weight).x,
        dtype=np.float64,
    )
    keep = np.ones(len(fitted), dtype=bool)
    keep[1:-1] = (fitted[1:-1] != fitted[:-2]) | (fitted[1:-1] != fitted[2:])
    return Calibration(x[starts][keep], fitted[keep])


def _sklearn_isotonic(scores: F64, labels: F64) -> Calibration:
    from sklearn.isotonic import IsotonicRegression

    model = IsotonicRegression(out_of_bounds="clip").fit(scores, labels)
    return Calibration(
        np.asarray(model.X_thresholds_, dtype=np.float64),
        np.asarray(model.y_thresholds_, dtype=np.float64),
    )


def expected_calibration_error(probabilities: F64, labels: F64, bins: int = ECE_BINS) -> float:
    """Mean |observed - predicted| positive rate over equal-count score bins, row-weighted."""
    order = np.argsort(probabilities, kind="stable")
    total = 0.0
    for part in np.array_split(order, min(bins, max(len(order) // 2, 1))):
        total += len(part) * abs(probabilities[part].mean() - labels[part].mean())
    return total / max(len(order), 1)


def fit_calibration(scores: F64, labels: F64, seed: int = 42) -> Calibration:
    """Isotonic calibration if it lowers the pooled out-of-fold calibration error, else identity.

    As NannyML decides: ten random 90/10 splits, the held-out scores of all ten pooled,
    and no calibration for a single class or an (almost) perfect ranking.
    """
    identity = Calibration(np.empty(0), np.empty(0))
    if len(np.unique(labels)) < 2 or _auc(scores, labels) > 0.999:
        return identity
    rng = np.random.default_rng(seed)
    raw, fitted, truth = [], [], []
    for _ in range(CV_SPLITS):
        order = rng.permutation(len(scores))
        test, train = order[: max(len(order) // 10, 1)], order[max(len(order) // 10, 1) :]
        raw.append(scores[test])
        fitted.append(_isotonic(scores[train], labels[train])(scores[test]))
        truth.append(labels[test])
    y = np.concatenate(truth)
    before = expected_calibration_error(np.concatenate(raw), y)
    if before > expected_calibration_error(np.concatenate(fitted), y):
        return _isotonic(scores, labels)
    return identity


def _auc(scores: F64, labels: F64) -> float:
    return expected_roc_auc(labels, scores)


def estimate_classifier(
    reference_scores: F64,
    reference_labels: F64,
    scores: F64,
    threshold: float = 0.5,
) -> ClassifierEstimate:
    """CBPE: expected accuracy and ROC AUC of `scores` (P(y=1)) without their labels."""
    calibration = fit_calibration(reference_scores, reference_labels)
    return classifier_estimate(calibration, scores, threshold)


def classifier_estimate(
    calibration: Calibration, scores: F64, threshold: float = 0.5
) -> ClassifierEstimate:
    """Expected metrics of a window with a calibration fitted once per reference."""
    p = calibration(scores)
    predicted = scores >= threshold
    accuracy = float(np.mean(np.where(predicted, p, 1.0 - p)))
    return ClassifierEstimate(
        accuracy=accuracy, roc_auc=expected_roc_auc(p, scores), calibrated=len(calibration.x) > 0
    )


def expected_roc_auc(probabilities: F64, scores: F64) -> float:
    """ROC AUC with each row a positive of weight p and a negative of weight 1 - p."""
    order = np.argsort(scores)[::-1]
    p = probabilities[order]
    tps = np.concatenate(([0.0], np.cumsum(p)))
    fps = np.arange(len(p) + 1, dtype=np.float64) - tps
    tps, fps = np.round(tps, 5), np.round(fps, 5)  # as NannyML, before normalising
    if tps[-1] <= 0 or fps[-1] <= 0:
        return float("nan")
    return float(np.trapezoid(tps / tps[-1], fps / fps[-1]))


@dataclass(frozen=True)
class LossModel:
    """Expected absolute and squared error as piecewise-linear functions of the prediction.

    Knots at the mean prediction of each reference quantile bin, values the bin's mean
    errors; flat beyond the outer knots (no extrapolation past what the reference saw).
    """

    knots: F64
    abs_error: F64
    sq_error: F64

    def expected(self, predictions: F64) -> RegressorEstimate:
        """Expected MAE and RMSE of a window of predictions."""
        mae = np.interp(predictions, self.knots, self.abs_error).mean()
        mse = np.interp(predictions, self.knots, self.sq_error).mean()
        return RegressorEstimate(mae=float(mae), rmse=float(np.sqrt(mse)))


def fit_loss_model(predictions: F64, targets: F64, bins: int = LOSS_BINS) -> LossModel:
    """DLE, simplified: the reference's error as a function of the prediction alone."""
    edges = np.unique(np.quantile(predictions, np.linspace(0, 1, bins + 1)))[1:-1]
    which = np.searchsorted(edges, predictions, side="right")
    size = len(edges) + 1
    count = np.maximum(np.bincount(which, minlength=size), 1)
    error = targets - predictions
    filled = np.bincount(which, minlength=size) > 0
    return LossModel(
        knots=(np.bincount(which, weights=predictions, minlength=size) / count)[filled],
        abs_error=(np.bincount(which, weights=np.abs(error), minlength=size) / count)[filled],
        sq_error=(np.bincount(which, weights=error**2, minlength=size) / count)[filled],
    )


def estimate_regressor(
    reference_predictions: F64, reference_targets: F64, predictions: F64
) -> RegressorEstimate:
    """DLE: expected MAE and RMSE of `predictions` without their targets."""
    return fit_loss_model(reference_predictions, reference_targets).expected(predictions)
