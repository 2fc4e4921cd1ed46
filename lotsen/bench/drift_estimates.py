"""Estimated performance (no labels) for `lotsen bench drift`: Lotsen against NannyML.

Four classifier datasets (CBPE: accuracy, ROC AUC; two with miscalibrated scores) and four
regressor datasets (DLE: MAE, RMSE; heteroscedastic error), each a 5,000-row labelled
reference and a 5,000-row window under covariate shift. Written as parquet for the NannyML
runner; Lotsen's estimates are timed here on the same arrays.
"""

import time
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel

from tools.drift.calibration import fit_calibration
from tools.drift.estimate import classifier_estimate, fit_loss_model


class EstimateRow(BaseModel):
    """One metric of one dataset, estimated by Lotsen (and NannyML when installed)."""

    dataset: str
    metric: str
    realised: float
    lotsen: float
    lotsen_s: float
    """Seconds for the window's estimate, the reference fitted before (once per version)."""
    lotsen_fit_s: float
    """Seconds to fit on the reference (calibration / loss model)."""
    nannyml: float | None = None
    nannyml_s: float | None = None


def performance_data(rng: np.random.Generator, rows: int) -> dict[str, tuple[pd.DataFrame, ...]]:
    """Name -> (reference, window) frames with score/pred/label (and a feature x)."""
    data: dict[str, tuple[pd.DataFrame, ...]] = {}
    for i in range(4):
        frames = []
        for shift in (0.0, 0.6 + 0.3 * i):
            x = rng.normal(shift, 1.5, rows)
            score = 1 / (1 + np.exp(-x))
            truth = score**2 if i % 2 else score
            label = (rng.random(rows) < truth).astype(int)
            frames.append(
                pd.DataFrame(
                    {"x": x, "score": score, "pred": (score >= 0.5).astype(int), "label": label}
                )
            )
        data[f"clf{i}"] = tuple(frames)
    for i in range(4):
        frames = []
        for centre, spread in ((0.0, 1.5), (0.5 + 0.3 * i, 0.6)):
            x = rng.normal(centre, spread, rows)
            label = x + rng.normal(0, 0.1 + np.abs(x), rows)
            frames.append(pd.DataFrame({"x": x, "pred": x, "label": label}))
        data[f"reg{i}"] = tuple(frames)
    return data


def write_performance_data(data: dict[str, tuple[pd.DataFrame, ...]], folder: Path) -> None:
    """Parquet files for the NannyML runner."""
    for name, (reference, window) in data.items():
        reference.to_parquet(folder / f"{name}.perfref.parquet")
        window.to_parquet(folder / f"{name}.perfcur.parquet")


def lotsen_estimates(data: dict[str, tuple[pd.DataFrame, ...]]) -> list[EstimateRow]:
    """Lotsen's estimate, realised value and time for every dataset and metric."""
    from sklearn.metrics import roc_auc_score

    fit_calibration(np.linspace(0, 1, 100), np.resize([0.0, 1.0], 100))  # imports, not timed
    rows: list[EstimateRow] = []
    for name, (ref, cur) in data.items():
        f64 = np.float64
        if name.startswith("clf"):
            start = time.perf_counter()
            calibration = fit_calibration(ref["score"].to_numpy(f64), ref["label"].to_numpy(f64))
            fitted = time.perf_counter()
            est = classifier_estimate(calibration, cur["score"].to_numpy(f64))
            seconds = time.perf_counter() - fitted
            realised = {
                "accuracy": float(np.mean(cur["pred"] == cur["label"])),
                "roc_auc": float(roc_auc_score(cur["label"], cur["score"])),
            }
            ours = {"accuracy": est.accuracy, "roc_auc": est.roc_auc}
        else:
            start = time.perf_counter()
            loss = fit_loss_model(ref["pred"].to_numpy(f64), ref["label"].to_numpy(f64))
            fitted = time.perf_counter()
            reg = loss.expected(cur["pred"].to_numpy(f64))
            seconds = time.perf_counter() - fitted
            error = (cur["label"] - cur["pred"]).to_numpy(f64)
            realised = {
                "mae": float(np.abs(error).mean()),
                "rmse": float(np.sqrt(np.mean(error**2))),
            }
            ours = {"mae": reg.mae, "rmse": reg.rmse}
        rows.extend(
            EstimateRow(
                dataset=name,
                metric=m,
                realised=realised[m],
                lotsen=ours[m],
                lotsen_s=seconds,
                lotsen_fit_s=fitted - start,
            )
            for m in ours
        )
    return rows


def add_nannyml(rows: list[EstimateRow], theirs: dict[str, dict[str, object]]) -> None:
    """Fill in NannyML's estimates and times from its runner's output."""
    for row in rows:
        found = theirs.get(row.dataset)
        if not found:
            continue
        values = found.get("values")
        seconds = found.get("seconds")
        if isinstance(values, dict) and row.metric in values:
            row.nannyml = float(values[row.metric])
        if isinstance(seconds, int | float):
            row.nannyml_s = float(seconds)
