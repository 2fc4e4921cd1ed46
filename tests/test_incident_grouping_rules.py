"""The rules of grouping signals into incidents, field by field.

What an operator reads in an incident (its probable cause, scope, evidence, features) and
what the incident store matches on (its key) are pinned here exactly; the thresholds that
make drift material and a performance drop a bad deploy are tested on both sides of their
boundaries.
"""

import hashlib
import math
from datetime import UTC, datetime, timedelta

import pytest

from tools.drift.incidents import (
    MATERIAL_RATIO,
    RECENT_DEPLOY,
    Incident,
    group_incidents,
    occurrence_id,
)
from tools.drift.signals import DqIssue, FeatureSignal, ModelSignals, TestName

WINDOW = datetime(2026, 11, 3, tzinfo=UTC)
MONTH_AGO = WINDOW - timedelta(days=30)


def signals(model: str, pipeline: str = "pipe-a", **found: object) -> ModelSignals:
    """One model's window, deployed a month ago unless `deployed_at` says otherwise."""
    return ModelSignals.model_validate(
        {
            "model": model,
            "pipeline": pipeline,
            "window_start": WINDOW,
            "deployed_at": MONTH_AGO,
            **found,
        }
    )


def feature(
    name: str,
    test: TestName,
    score: float,
    threshold: float,
    *,
    drifted: bool = True,
    sample_margin: float = 0.0,
) -> FeatureSignal:
    return FeatureSignal(
        feature=name,
        test=test,
        score=score,
        threshold=threshold,
        drifted=drifted,
        psi=0.2,
        sample_margin=sample_margin,
    )


def drifting(
    model: str, *features: FeatureSignal, pipeline: str = "pipe-a", **found: object
) -> ModelSignals:
    """A model whose drifted features are those of `features` marked drifted."""
    return signals(
        model,
        pipeline,
        drifted_features=[f.feature for f in features if f.drifted],
        features=list(features),
        **found,
    )


def strong(name: str = "f1") -> FeatureSignal:
    """Drift far past any materiality line."""
    return feature(name, "wasserstein", 0.9, 0.1)


def key(kind: str, scope: str) -> str:
    """The documented key: kind and scope, hashed (stored incidents match on it across
    scans and across upgrades, so its spelling must not change)."""
    return "inc-" + hashlib.sha1(f"{kind}|{scope}".encode()).hexdigest()[:10]


def material(s: ModelSignals) -> bool:
    """Whether the scan raises a drift incident for this one model."""
    return [i.kind for i in group_incidents([s])] == ["covariate_drift"]


# --- ids ---------------------------------------------------------------------------------


def test_the_first_occurrence_is_the_key_and_recurrences_are_numbered() -> None:
    assert occurrence_id("inc-abc", 1) == "inc-abc"
    assert occurrence_id("inc-abc", 2) == "inc-abc-2"
    assert occurrence_id("inc-abc", 3) == "inc-abc-3"


def test_the_key_names_the_problem_and_is_the_first_occurrence_id() -> None:
    [incident] = group_incidents([signals("m1", dq_issues=[nulls("f1")])])
    assert incident.key == key("data_quality", "pipe-a")
    assert incident.id == incident.key
    assert len(incident.key) == len("inc-") + 10
    later = signals("m1", dq_issues=[nulls("f1")], window_start=WINDOW + timedelta(days=1))
    [again] = group_incidents([later])
    assert again.key == incident.key
    assert again.window_start == WINDOW + timedelta(days=1)


# --- data quality ------------------------------------------------------------------------


def nulls(name: str) -> DqIssue:
    return DqIssue(kind="null_spike", feature=name, detail="nulls 0% -> 80%")


LOW_VOLUME = DqIssue(kind="low_volume", detail="120 rows, expected >= 1000")


def test_a_data_incident_names_the_commonest_issue_its_example_and_what_to_do() -> None:
    group = [
        signals("m1", dq_issues=[nulls("f1"), LOW_VOLUME]),
        signals("m2", dq_issues=[nulls("f1")]),
        signals("m3", dq_issues=[nulls("f2")]),
    ]
    [incident] = group_incidents(group)
    assert incident == Incident(
        id=key("data_quality", "pipe-a"),
        key=key("data_quality", "pipe-a"),
        kind="data_quality",
        probable_cause="upstream data-quality break in pipeline pipe-a: "
        "null spike in f1 (nulls 0% -> 80%); do not retrain, fix the pipeline",
        pipeline="pipe-a",
        models=["m1", "m2", "m3"],
        features=["f1", "f2"],
        window_start=WINDOW,
        evidence=[
            "null_spike/f1: 2 model(s)",
            "low_volume: 1 model(s)",
            "null_spike/f2: 1 model(s)",
        ],
    )


def test_a_data_issue_without_a_feature_says_no_feature() -> None:
    [incident] = group_incidents([signals("m1", dq_issues=[LOW_VOLUME])])
    assert incident.probable_cause == (
        "upstream data-quality break in pipeline pipe-a: "
        "low volume (120 rows, expected >= 1000); do not retrain, fix the pipeline"
    )
    assert incident.features == []
    assert incident.evidence == ["low_volume: 1 model(s)"]


def test_the_example_is_a_detail_of_the_commonest_issue() -> None:
    rare = DqIssue(kind="out_of_range", feature="f9", detail="f9 up to 1e9")
    [incident] = group_incidents(
        [signals("m1", dq_issues=[rare, nulls("f1")]), signals("m2", dq_issues=[nulls("f1")])]
    )
    assert "null spike in f1 (nulls 0% -> 80%)" in incident.probable_cause
    assert "f9 up to 1e9" not in incident.probable_cause


def test_data_evidence_lists_the_five_commonest_issues() -> None:
    issues = [nulls(f"f{n}") for n in range(1, 7)]  # six distinct issues, f1 the commonest
    [incident] = group_incidents(
        [signals("m1", dq_issues=issues), signals("m2", dq_issues=[nulls("f1")])]
    )
    assert incident.evidence == [
        "null_spike/f1: 2 model(s)",
        "null_spike/f2: 1 model(s)",
        "null_spike/f3: 1 model(s)",
        "null_spike/f4: 1 model(s)",
        "null_spike/f5: 1 model(s)",
    ]
    assert incident.features == ["f1", "f2", "f3", "f4", "f5", "f6"]


def test_a_model_with_a_data_break_raises_no_drift_or_performance_incident() -> None:
    found = group_incidents(
        [drifting("m1", strong(), dq_issues=[nulls("f1")], performance_drop=True)]
    )
    assert [i.kind for i in found] == ["data_quality"]


# --- drift -------------------------------------------------------------------------------


def test_a_single_model_drift_incident_names_the_model_and_its_metric() -> None:
    s = drifting(
        "m1", strong("f2"), strong("f1"), metric="auc", metric_value=0.8123, reference_metric=0.9
    )
    [incident] = group_incidents([s])
    scope = "pipe-a|f1,f2"
    assert incident == Incident(
        id=key("covariate_drift", scope),
        key=key("covariate_drift", scope),
        kind="covariate_drift",
        probable_cause="input drift in f1, f2 (m1); performance is healthy",
        pipeline="pipe-a",
        models=["m1"],
        features=["f1", "f2"],
        window_start=WINDOW,
        evidence=["m1: auc 0.812 (reference 0.900)"],
    )


def test_a_shared_drift_incident_counts_its_models_and_says_performance_dropped() -> None:
    group = [
        drifting("m2", strong(), performance_drop=True),
        drifting("m1", strong()),
    ]
    [incident] = group_incidents(group)
    assert incident.kind == "drift_with_performance_drop"
    assert incident.probable_cause == (
        "input drift in f1 (2 models of pipeline pipe-a); and performance dropped"
    )
    assert incident.key == key("drift_with_performance_drop", "pipe-a|f1")
    assert incident.models == ["m1", "m2"]
    assert incident.evidence == ["m2: no labels", "m1: no labels"]


def test_drift_evidence_shows_five_models() -> None:
    group = [drifting(f"m{n}", strong()) for n in range(1, 7)]
    [incident] = group_incidents(group)
    assert incident.evidence == [f"m{n}: no labels" for n in range(1, 6)]
    assert incident.probable_cause.startswith("input drift in f1 (6 models of pipeline pipe-a)")


@pytest.mark.parametrize(
    ("value", "reference"),
    [(None, 0.9), (0.8, None), (None, None)],
    ids=["value", "reference", "both"],
)
def test_evidence_without_both_metrics_says_no_labels(
    value: float | None, reference: float | None
) -> None:
    s = drifting("m1", strong(), metric="auc", metric_value=value, reference_metric=reference)
    [incident] = group_incidents([s])
    assert incident.evidence == ["m1: no labels"]


def test_dataset_drift_is_material_whatever_its_features() -> None:
    weak = feature("f1", "wasserstein", 0.11, 0.1)
    assert not material(drifting("m1", weak))
    assert material(drifting("m1", weak, dataset_drift=True))


def test_a_feature_that_did_not_drift_does_not_hide_the_next_one() -> None:
    quiet = feature("f0", "wasserstein", 0.9, 0.1, drifted=False)
    assert not material(drifting("m1", quiet))  # not drifted, however large its score
    assert material(drifting("m1", quiet, strong()))


def test_a_p_value_is_material_at_the_threshold_over_the_ratio_to_the_fourth() -> None:
    line = 0.05 / MATERIAL_RATIO**4  # 0.0099
    assert material(drifting("m1", feature("f1", "ks", line, 0.05)))
    assert not material(drifting("m1", feature("f1", "ks", math.nextafter(line, 1.0), 0.05)))
    assert material(drifting("m1", feature("f1", "chi_square", line, 0.05)))
    assert not material(drifting("m1", feature("f1", "chi_square", 0.02, 0.05)))


def test_a_p_value_must_also_pass_the_scans_false_discovery_cutoff() -> None:
    tiny = feature("f1", "ks", 0.001, 0.05)  # far past 0.05 / 1.5^4
    assert material(drifting("m1", tiny, p_cutoff=0.001))
    assert not material(drifting("m1", tiny, p_cutoff=math.nextafter(0.001, 0.0)))


def test_a_small_distance_is_not_read_as_a_p_value() -> None:
    """A distance near zero is no drift; only ks/chi-square scores are p-values."""
    assert not material(drifting("m1", feature("f1", "wasserstein", 0.001, 0.1)))
    assert not material(drifting("m1", feature("f1", "jensen_shannon", 0.001, 0.1)))


def test_a_jensen_shannon_distance_is_material_at_the_ratio() -> None:
    line = 0.1 * MATERIAL_RATIO
    assert material(drifting("m1", feature("f1", "jensen_shannon", line, 0.1)))
    below = math.nextafter(line, 0.0)
    assert not material(drifting("m1", feature("f1", "jensen_shannon", below, 0.1)))


def test_the_noise_margin_is_for_wasserstein_only() -> None:
    """A Jensen-Shannon distance past the ratio is material even where a Wasserstein
    distance of the same size is not (its sample margin puts it in the noise)."""
    noise = 0.05  # a Wasserstein distance needs 5 x 0.05 = 0.25
    assert not material(drifting("m1", feature("f1", "wasserstein", 0.2, 0.1, sample_margin=noise)))
    assert material(drifting("m1", feature("f1", "jensen_shannon", 0.2, 0.1, sample_margin=noise)))


# --- performance -------------------------------------------------------------------------


def test_a_drop_without_drift_is_concept_drift_of_that_model() -> None:
    s = signals("m1", performance_drop=True, metric="f1", metric_value=0.5, reference_metric=0.75)
    [incident] = group_incidents([s])
    assert incident == Incident(
        id=key("concept_drift", "m1"),
        key=key("concept_drift", "m1"),
        kind="concept_drift",
        probable_cause="performance dropped while inputs did not drift (concept drift)",
        pipeline="pipe-a",
        models=["m1"],
        window_start=WINDOW,
        evidence=["m1: f1 0.500 (reference 0.750)"],
    )


def test_a_drop_right_after_a_deploy_is_a_bad_deploy() -> None:
    deployed = WINDOW - RECENT_DEPLOY + timedelta(microseconds=1)
    [incident] = group_incidents([signals("m1", performance_drop=True, deployed_at=deployed)])
    assert incident.kind == "bad_deploy"
    assert incident.key == key("bad_deploy", "m1")
    assert incident.probable_cause == (
        "performance dropped right after the deploy at 2026-11-01 12:00"
    )
    assert incident.evidence == ["m1: no labels"]


def test_a_drop_exactly_the_recent_window_after_a_deploy_is_concept_drift() -> None:
    deployed = WINDOW - RECENT_DEPLOY
    [incident] = group_incidents([signals("m1", performance_drop=True, deployed_at=deployed)])
    assert incident.kind == "concept_drift"


def test_each_model_dropping_without_drift_is_its_own_incident() -> None:
    found = group_incidents(
        [signals(m, performance_drop=True) for m in ("m2", "m1")] + [signals("m3")]
    )
    assert [(i.kind, i.models, i.key) for i in found] == [
        ("concept_drift", ["m1"], key("concept_drift", "m1")),
        ("concept_drift", ["m2"], key("concept_drift", "m2")),
    ]


# --- latency -----------------------------------------------------------------------------


def slow(model: str, ratio: float, deployed_at: datetime) -> ModelSignals:
    return signals(model, latency_regression=True, latency_ratio=ratio, deployed_at=deployed_at)


def test_latency_regressions_of_one_deploy_hour_are_one_incident() -> None:
    hour = datetime(2026, 11, 2, 10, tzinfo=UTC)
    group = [
        slow("m2", 2.0, hour + timedelta(minutes=5, seconds=7, microseconds=3)),
        slow("m1", 3.25, hour + timedelta(minutes=55, seconds=59, microseconds=999)),
    ]
    [incident] = group_incidents(group)
    assert incident == Incident(
        id=key("latency_regression", "m1,m2"),
        key=key("latency_regression", "m1,m2"),
        kind="latency_regression",
        probable_cause="p95 latency up to x3.2 since the deploy at 2026-11-02 10:00",
        models=["m1", "m2"],
        window_start=WINDOW,
        evidence=["m2: p95 x2.00", "m1: p95 x3.25"],
    )


def test_latency_regressions_of_different_deploy_hours_are_separate_incidents() -> None:
    hour = datetime(2026, 11, 2, 10, tzinfo=UTC)
    found = group_incidents([slow("m1", 2.0, hour), slow("m2", 2.0, hour + timedelta(hours=1))])
    assert sorted((i.models, i.probable_cause[-16:]) for i in found) == [
        (["m1"], "2026-11-02 10:00"),
        (["m2"], "2026-11-02 11:00"),
    ]


def test_latency_evidence_shows_five_models() -> None:
    hour = datetime(2026, 11, 2, 10, tzinfo=UTC)
    [incident] = group_incidents([slow(f"m{n}", 2.0, hour) for n in range(1, 7)])
    assert incident.evidence == [f"m{n}: p95 x2.00" for n in range(1, 6)]
    assert len(incident.models) == 6
