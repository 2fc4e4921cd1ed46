"""Grouping signals into incidents: one incident per pipeline, never one per model."""

import math
from datetime import UTC, datetime, timedelta

from tools.drift.incidents import MATERIAL_RATIO, group_incidents
from tools.drift.signals import DqIssue, FeatureSignal, ModelSignals

WINDOW = datetime(2026, 11, 3, tzinfo=UTC)


def signals(model: str, pipeline: str, **found: object) -> ModelSignals:
    """One model's window, deployed a month ago (so a drop is not a bad deploy)."""
    return ModelSignals.model_validate(
        {
            "model": model,
            "pipeline": pipeline,
            "window_start": WINDOW,
            "deployed_at": WINDOW - timedelta(days=30),
            **found,
        }
    )


def drift(score: float, threshold: float = 0.1) -> dict[str, object]:
    """Drift in feature f1, by a Wasserstein distance of `score`."""
    feature = FeatureSignal(
        feature="f1", test="wasserstein", score=score, threshold=threshold, drifted=True, psi=0.3
    )
    return {"drifted_features": ["f1"], "features": [feature], "drift_share": 0.2}


NULLS = {"dq_issues": [DqIssue(kind="null_spike", feature="f1", detail="nulls 0% -> 80%")]}


def test_a_pipeline_break_is_one_data_incident_per_pipeline() -> None:
    found = group_incidents(
        [signals(m, "pipe-a", **NULLS) for m in ("m1", "m2", "m3")]
        + [signals("m4", "pipe-b", **NULLS)]
    )
    assert [(i.kind, i.pipeline, i.models) for i in found] == [
        ("data_quality", "pipe-a", ["m1", "m2", "m3"]),
        ("data_quality", "pipe-b", ["m4"]),
    ]


def test_drift_in_a_shared_source_is_one_incident_per_pipeline() -> None:
    strong = drift(score=0.5)
    found = group_incidents(
        [signals(m, "pipe-a", **strong) for m in ("m1", "m2", "m3")]
        + [signals("m4", "pipe-b", **strong)]
    )
    assert [(i.kind, i.pipeline, i.models, i.features) for i in found] == [
        ("covariate_drift", "pipe-a", ["m1", "m2", "m3"], ["f1"]),
        ("covariate_drift", "pipe-b", ["m4"], ["f1"]),
    ]
    # one model's performance dropped: the pipeline's incident says so, still one incident
    mixed = group_incidents(
        [signals("m1", "pipe-a", performance_drop=True, **strong)]
        + [signals(m, "pipe-a", **strong) for m in ("m2", "m3")]
    )
    assert [(i.kind, i.models) for i in mixed] == [
        ("drift_with_performance_drop", ["m1", "m2", "m3"])
    ]


def test_drift_exactly_at_the_material_ratio_makes_an_incident() -> None:
    """Material means distance >= threshold x MATERIAL_RATIO; weaker drift is only watched."""
    line = 0.1 * MATERIAL_RATIO
    [incident] = group_incidents([signals("m1", "pipe-a", **drift(score=line))])
    assert incident.kind == "covariate_drift"
    below = math.nextafter(line, 0.0)
    assert group_incidents([signals("m1", "pipe-a", **drift(score=below))]) == []
