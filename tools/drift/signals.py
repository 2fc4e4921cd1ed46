"""What a fleet scan finds, per model."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

DqKind = Literal[
    "missing_feature",
    "type_change",
    "null_spike",
    "out_of_range",
    "invalid_values",
    "low_volume",
    "stale",
]
TestName = Literal["ks", "chi_square", "wasserstein", "jensen_shannon"]


class DqIssue(BaseModel):
    """A data-quality failure: drift is not computed on such a window."""

    kind: DqKind
    feature: str | None = None
    detail: str


class FeatureSignal(BaseModel):
    """The drift test of one feature."""

    feature: str
    test: TestName
    score: float
    """p-value for ks/chi_square, distance for wasserstein/jensen_shannon."""
    threshold: float
    drifted: bool
    psi: float
    importance: float = 1.0
    sample_margin: float = 0.0
    """sqrt(1/n_reference + 1/n_current): the scale of a distance's sampling noise (0 = unknown)."""


class ModelSignals(BaseModel):
    """Everything the scan found for one model's window."""

    model: str
    pipeline: str
    window_start: datetime
    deployed_at: datetime
    dq_issues: list[DqIssue] = Field(default_factory=list)
    drifted_features: list[str] = Field(default_factory=list)
    drift_share: float = 0.0
    """(Importance-weighted) share of features that drifted."""
    dataset_drift: bool = False
    metric: str = ""
    metric_value: float | None = None
    reference_metric: float | None = None
    performance_drop: bool = False
    """The realised metric (labels) dropped."""
    estimated_metric: float | None = None
    """The metric estimated from predictions while labels are delayed (None: labelled, or no
    estimate)."""
    estimate_reference: float | None = None
    """The same estimate on the reference, what `estimated_metric` is compared with."""
    estimated_drop: bool = False
    """The estimate dropped as far as a realised drop must (labels delayed): for a human to
    watch; never concept drift (an estimate from scores cannot see it) and never by itself a
    retrain, rollback or promotion (those need labels)."""
    latency_ratio: float = 1.0
    latency_regression: bool = False
    features: list[FeatureSignal] = Field(default_factory=list)
    """Per-feature detail (all features for a detailed scan, else only drifted ones)."""
    p_cutoff: float = 1.0
    """The scan's false-discovery-rate cutoff for p-value tests (1.0 = none)."""

    @property
    def anomalous(self) -> bool:
        """Anything worth an incident."""
        return bool(
            self.dq_issues
            or self.drifted_features
            or self.performance_drop
            or self.estimated_drop
            or self.latency_regression
        )
