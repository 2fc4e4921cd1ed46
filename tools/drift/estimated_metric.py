"""A model's own metric, estimated without labels: fitted once per reference, applied per window.

Classifiers (CBPE): the reference calibrates the scores; a window's expected confusion
matrix follows from the calibrated probabilities. Regressors (DLE, simplified): the
reference's pointwise loss as a curve over the prediction; a window's expected loss is its
mean. Both are blind to concept drift (P(y|x) moving): only labels show that.
"""

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from tools.drift.calibration import Calibration, expected_roc_auc, fit_calibration
from tools.drift.estimate import loss_curve

F64 = NDArray[np.float64]
CLASSIFIER_METRICS = frozenset({"auc", "roc_auc", "accuracy", "f1", "precision", "recall"})
REGRESSOR_METRICS = frozenset({"mae", "mse", "rmse", "mape"})
MIN_ROWS = 100
"""Fewest usable labelled reference rows to fit on (below this the fit is noise)."""


class NoEstimate(Exception):
    """The reference or window cannot give an estimate; the message says why."""


@dataclass(frozen=True)
class MetricEstimator:
    """What estimates one metric: a calibration (classifier) or loss curve (regressor)."""

    metric: str
    knots: F64
    values: F64
    threshold: float = 0.5

    def estimate(self, predictions: F64) -> float:
        """The metric expected on a window of predictions (NaN values left out).

        Raises:
            NoEstimate: no finite prediction, or classifier scores outside [0, 1].
        """
        x = _usable(predictions, "the window")
        if self.metric in CLASSIFIER_METRICS:
            _probabilities(x, "the window")
            p = Calibration(self.knots, self.values)(x)
            return expected_classifier_metric(self.metric, p, x, self.threshold)
        loss = np.interp(x, self.knots, self.values)
        return float(np.sqrt(loss.mean()) if self.metric == "rmse" else loss.mean())


def estimable(metric: str) -> bool:
    """Whether `metric` can be estimated from predictions alone."""
    return metric in CLASSIFIER_METRICS | REGRESSOR_METRICS


def fit_estimator(
    metric: str, predictions: F64, labels: F64, threshold: float = 0.5
) -> tuple[MetricEstimator, float]:
    """The estimator fitted on labelled reference rows, and the realised reference metric.

    Rows with a missing prediction or label are left out.

    Raises:
        NoEstimate: the metric is not estimable, too few usable rows, scores outside [0, 1],
            labels other than 0/1, or a single class.
    """
    if not estimable(metric):
        raise NoEstimate(
            f"{metric} cannot be estimated without labels (estimable: "
            f"{', '.join(sorted(CLASSIFIER_METRICS | REGRESSOR_METRICS))})"
        )
    keep = np.isfinite(predictions) & np.isfinite(labels)
    if keep.sum() < MIN_ROWS:
        raise NoEstimate(
            f"the reference has {int(keep.sum())} row(s) with both a prediction and a label; "
            f"the estimate needs at least {MIN_ROWS}"
        )
    x, y = predictions[keep], labels[keep]
    if metric in CLASSIFIER_METRICS:
        _probabilities(x, "the reference")
        if not ((y == 0) | (y == 1)).all():
            raise NoEstimate("the reference labels must be 0 or 1 for a classifier's metric")
        if (y == y[0]).all():
            raise NoEstimate(
                f"the reference labels are all {y[0]:g}: one class cannot calibrate the scores"
            )
        calibration = fit_calibration(x, y)
        realised = expected_classifier_metric(metric, y, x, threshold)
        estimator = MetricEstimator(metric, calibration.x, calibration.y, threshold)
        return estimator, realised
    if metric == "mape":
        x, y = x[y != 0], y[y != 0]
        if len(x) < MIN_ROWS:
            raise NoEstimate("too few reference rows with a non-zero target for mape")
    loss = pointwise_loss(metric, x, y)
    knots, values = loss_curve(x, loss)
    realised = float(np.sqrt(loss.mean()) if metric == "rmse" else loss.mean())
    return MetricEstimator(metric, knots, values, threshold), realised


def pointwise_loss(metric: str, predictions: F64, targets: F64) -> F64:
    """Each row's loss whose mean (root mean for rmse) is the regression metric."""
    error = targets - predictions
    match metric:
        case "mae":
            return np.abs(error)
        case "mape":
            return np.abs(error / targets)
        case _:
            return error**2


def expected_classifier_metric(metric: str, p: F64, scores: F64, threshold: float) -> float:
    """The metric of scores whose rows are positive with probability p (p = labels: realised)."""
    if metric in ("auc", "roc_auc"):
        return expected_roc_auc(p, scores)
    predicted = scores >= threshold
    if metric == "accuracy":
        return float(np.mean(np.where(predicted, p, 1.0 - p)))
    tp = float(p[predicted].sum())
    fp = float(predicted.sum()) - tp
    fn = float(p[~predicted].sum())
    match metric:
        case "precision":
            return tp / (tp + fp) if tp + fp > 0 else float("nan")
        case "recall":
            return tp / (tp + fn) if tp + fn > 0 else float("nan")
        case _:
            return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn > 0 else float("nan")


def _usable(values: F64, where: str) -> F64:
    finite = values[np.isfinite(values)]
    if len(finite) == 0:
        raise NoEstimate(f"{where} has no finite prediction")
    return finite


def _probabilities(scores: F64, where: str) -> None:
    if scores.min() < 0.0 or scores.max() > 1.0:
        raise NoEstimate(
            f"{where}'s scores run from {scores.min():g} to {scores.max():g}; a classifier's "
            "prediction column must hold P(y=1) in [0, 1]"
        )
