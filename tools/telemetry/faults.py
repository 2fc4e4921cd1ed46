"""Faults the simulator can inject into a model's current window (seeded, recorded)."""

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

FaultKind = Literal[
    "covariate_shift",
    "concept_drift",
    "pipeline_break",
    "gradual_drift",
    "latency_regression",
    "bad_deploy",
]
BreakMode = Literal["schema_change", "null_spike", "stale_partition", "unit_change"]


class FaultSpec(BaseModel):
    """One fault to inject in the newest window (gradual drift grows over all windows)."""

    kind: FaultKind
    model: str | None = None
    """Target model (all kinds but pipeline_break)."""
    pipeline: str | None = None
    """Target pipeline (pipeline_break hits every model it feeds)."""
    features: list[str] = Field(default_factory=list)
    sigma: float = 2.0
    """Mean shift in reference standard deviations (covariate shift, gradual drift)."""
    performance_drop: float = 0.0
    """Metric drop that comes with the fault (concept drift, bad deploy, or shift + drop)."""
    mode: BreakMode | None = None
    factor: float = 2.5
    """Latency multiplier (latency_regression)."""


class WindowEffects(BaseModel):
    """What the faults did to a window besides its rows."""

    freshness_lag_h: float
    latency_factor: float = 1.0
    performance_drop: float = 0.0
    visible_drop: float = 0.0
    """The part of the drop prediction scores show (covariate shift's, not concept drift's):
    what an estimate without labels can see."""


def apply_faults(
    frame: pd.DataFrame,
    faults: list[FaultSpec],
    stds: dict[str, float],
    rng: np.random.Generator,
    window_hours: float,
) -> WindowEffects:
    """Inject the newest window's faults into its rows (in place); return the other effects."""
    effects = WindowEffects(freshness_lag_h=window_hours * 0.1)
    for fault in faults:
        match fault.kind:
            case "covariate_shift":
                shift_features(frame, fault.features, fault.sigma, stds)
                effects.performance_drop += fault.performance_drop
                effects.visible_drop += fault.performance_drop
            case "concept_drift" | "bad_deploy":
                effects.performance_drop += fault.performance_drop
            case "latency_regression":
                effects.latency_factor *= fault.factor
            case "pipeline_break":
                assert fault.mode is not None, "pipeline_break needs a mode"
                if fault.mode == "stale_partition":
                    effects.freshness_lag_h = window_hours * 3
                for feature in fault.features:
                    break_pipeline(frame, fault.mode, feature, rng)
            case "gradual_drift":
                pass  # applied to every window by the simulator
    return effects


def shift_features(
    frame: pd.DataFrame, features: list[str], sigma: float, stds: dict[str, float]
) -> None:
    """Move numeric features by `sigma` reference standard deviations (in place)."""
    for name in features:
        if name in frame.columns and pd.api.types.is_numeric_dtype(frame[name]):
            frame[name] = frame[name] + sigma * stds.get(name, 1.0)


def break_pipeline(
    frame: pd.DataFrame, mode: BreakMode, feature: str, rng: np.random.Generator
) -> None:
    """Apply an upstream data-quality break to one model's window (in place)."""
    if feature not in frame.columns:
        return
    match mode:
        case "schema_change":
            del frame[feature]  # in place, without the inplace= pandas 3.1 deprecates
        case "null_spike":
            frame.loc[rng.random(len(frame)) < 0.6, feature] = np.nan
        case "unit_change":
            frame[feature] = frame[feature] * 1000.0
        case "stale_partition":
            pass  # the data is old, not different: only freshness shows it
