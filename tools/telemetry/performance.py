"""A model version's performance estimator in the telemetry store (for delayed labels).

Fitted once per model version on the labelled reference rows (a classifier's score
calibration, a regressor's loss curve over its predictions) and stored beside the reference
histograms. A window ingested without labels but with the prediction column gets its
estimated metric at ingest (`windows.estimated_metric`), stored with the same estimate on
the reference (`windows.estimate_reference`) that the scan compares it with. The realised
metric, once labels arrive, always wins.
"""

from datetime import datetime

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from pydantic import BaseModel

from tools.drift.estimated_metric import MetricEstimator, NoEstimate, fit_estimator
from tools.errors import NotFoundError
from tools.telemetry.store import TelemetryStore

_COLUMNS = (
    "model",
    "version",
    "metric",
    "prediction",
    "threshold",
    "knots",
    '"values"',
    "reference_estimate",
    "reference_realised",
    "reference_rows",
)


class PerformanceModel(BaseModel):
    """What estimates a model version's metric from its prediction column."""

    model: str
    version: int
    metric: str
    prediction: str
    """The column with the prediction (a classifier's score, P(y=1))."""
    threshold: float = 0.5
    """Score at or above which a classifier predicts the positive class."""
    knots: list[float]
    """Classifier: calibration thresholds (none: scores are used as they are). Regressor:
    the mean prediction of each reference quantile bin."""
    values: list[float]
    """Calibrated probability (classifier) or mean loss (regressor) at each knot."""
    reference_estimate: float
    """The estimate on the reference's own predictions: windows' estimates compare to it."""
    reference_realised: float
    """The metric the reference's labels give."""
    reference_rows: int
    """Labelled reference rows the estimator was fitted on."""

    def estimator(self) -> MetricEstimator:
        """The estimator as arrays."""
        return MetricEstimator(
            self.metric, np.array(self.knots), np.array(self.values), self.threshold
        )


def put_performance_model(store: TelemetryStore, model: PerformanceModel) -> None:
    """Store a model version's estimator (replacing any of the model's older ones)."""
    store.db.execute("DELETE FROM performance_models WHERE model = ?", [model.model])
    store.db.execute(
        f"INSERT INTO performance_models ({', '.join(_COLUMNS)}) "
        f"VALUES ({', '.join('?' * len(_COLUMNS))})",
        list(model.model_dump().values()),
    )


def performance_model(store: TelemetryStore, model: str, version: int) -> PerformanceModel | None:
    """The estimator of a model version (None: its reference had no predictions and labels)."""
    rows = store.db.execute(
        f"SELECT {', '.join(_COLUMNS)} FROM performance_models WHERE model = ? AND version = ?",
        [model, version],
    ).fetchall()
    if not rows:
        return None
    names = list(PerformanceModel.model_fields)
    return PerformanceModel.model_validate(dict(zip(names, rows[0], strict=True)))


def record_labels(
    store: TelemetryStore, model: str, window_start: datetime, metric_value: float, rows: int
) -> None:
    """Labels arrived for a window: its realised metric replaces the estimate in scans.

    The estimate stays stored beside it (what the monitor believed while labels were
    delayed).

    Raises:
        NotFoundError: the model has no window starting at `window_start`.
    """
    found = store.db.execute(
        "UPDATE windows SET metric_value = ?, labelled_rows = ? "
        "WHERE model = ? AND window_start = ? RETURNING model",
        [metric_value, rows, model, window_start],
    ).fetchall()
    if not found:
        raise NotFoundError(
            f"{model} has no window starting {window_start:%Y-%m-%d %H:%M}; ingest it first"
        )


def fit_performance_model(
    model: str, version: int, metric: str, frame: pd.DataFrame, prediction: str, label: str
) -> PerformanceModel:
    """Fit the estimator of `metric` on labelled reference rows.

    Raises:
        NoEstimate: a column is missing or not numeric, or the rows cannot fit an estimator
            (see `fit_estimator`); the message says which.
    """
    predictions = _numbers(frame, prediction, "the reference")
    labels = _numbers(frame, label, "the reference")
    estimator, realised = fit_estimator(metric, predictions, labels)
    return PerformanceModel(
        model=model,
        version=version,
        metric=metric,
        prediction=prediction,
        threshold=estimator.threshold,
        knots=estimator.knots.tolist(),
        values=estimator.values.tolist(),
        reference_estimate=estimator.estimate(predictions),
        reference_realised=realised,
        reference_rows=int((np.isfinite(predictions) & np.isfinite(labels)).sum()),
    )


def window_estimate(model: PerformanceModel, frame: pd.DataFrame, prediction: str) -> float:
    """The metric estimated on a window's rows from its prediction column.

    Raises:
        NoEstimate: the column is missing, not numeric or empty, or holds no usable scores.
    """
    return model.estimator().estimate(_numbers(frame, prediction, "the window"))


def _numbers(frame: pd.DataFrame, column: str, where: str) -> NDArray[np.float64]:
    """A column as float64 (non-numbers as NaN)."""
    if column not in frame.columns:
        raise NoEstimate(f"{where} has no column {column!r}")
    values = np.asarray(pd.to_numeric(frame[column], errors="coerce"), dtype=np.float64)
    if not np.isfinite(values).any():
        raise NoEstimate(f"{where}'s column {column!r} holds no numbers")
    return values
