"""A model's metric on a segment's raw rows, where the rows carry labels.

Rows of an ingested window may carry `label` and `prediction` columns (a classifier's
`prediction` is its score, P(y=1)). Without both, a segment has no realised metric and only
its volume and histograms are stored.
"""

import math

import numpy as np
import pandas as pd

from tools.drift.calibration import expected_roc_auc
from tools.telemetry.segments import MetricOf

LABEL, PREDICTION = "label", "prediction"


def label_metric(metric: str) -> MetricOf:
    """The function that computes `metric` (auc, rmse, mape) on a segment's labelled rows."""

    def metric_of(rows: pd.DataFrame) -> float | None:
        if LABEL not in rows.columns or PREDICTION not in rows.columns:
            return None
        pairs = rows[[LABEL, PREDICTION]].apply(pd.to_numeric, errors="coerce").dropna()
        if pairs.empty:
            return None
        y = pairs[LABEL].to_numpy(dtype=np.float64)
        p = pairs[PREDICTION].to_numpy(dtype=np.float64)
        match metric:
            case "auc":
                if len(np.unique(y)) < 2:
                    return None
                return float(expected_roc_auc(y, p))
            case "rmse":
                return math.sqrt(float(np.mean((y - p) ** 2)))
            case "mape":
                nonzero = y != 0
                if not nonzero.any():
                    return None
                return float(np.mean(np.abs((y - p)[nonzero] / y[nonzero])))
            case _:
                return None

    return metric_of
