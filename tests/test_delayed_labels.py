"""While labels are delayed the monitor estimates the metric from predictions, and acts safely."""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from agents.assistant.drift_intents import drift_line
from agents.remediation.plan import Action, tier0_plan
from tests.support.telemetry_fleets import simulate_fleet
from tools.catalog.drift_tools import drift_now
from tools.drift.batch import load_batch
from tools.drift.engine import scan
from tools.drift.estimated_metric import NoEstimate, fit_estimator
from tools.drift.incidents import group_incidents
from tools.drift.signals import ModelSignals
from tools.errors import NotFoundError
from tools.telemetry.binning import bin_frame, build_reference
from tools.telemetry.performance import (
    fit_performance_model,
    performance_model,
    put_performance_model,
    record_labels,
    window_estimate,
)
from tools.telemetry.store import _MIGRATIONS, ModelMeta, TelemetryStore, WindowFacts

NOW = datetime(2026, 11, 3, tzinfo=UTC)


def rows(
    rng: np.random.Generator, n: int, spread: float, amount_shift: float = 0.0
) -> pd.DataFrame:
    """A feature the model does not use much, and scores from an unmonitored signal."""
    signal = rng.normal(0, spread, n)
    score = 1 / (1 + np.exp(-signal))
    return pd.DataFrame(
        {
            "amount": rng.normal(100 + amount_shift, 15, n),
            "prediction": score,
            "label": (rng.random(n) < score).astype(int),
        }
    )


def store_with(
    reference: pd.DataFrame, window: pd.DataFrame, *, labelled: bool, metric: str = "auc"
) -> TelemetryStore:
    """A store with the model's reference and estimator, and one window ingested as ingest does."""
    store = TelemetryStore(":memory:")
    refs = [build_reference("amount", reference["amount"])]
    estimator = fit_performance_model("m", 1, metric, reference, "prediction", "label")
    store.put_model(
        ModelMeta(
            model="m",
            version=1,
            pipeline="p",
            metric=metric,
            reference_metric=estimator.reference_realised,
            baseline_latency_ms=40,
            deployed_at=NOW - timedelta(days=30),
            expected_rows=len(window),
        ),
        refs,
        {},
    )
    put_performance_model(store, estimator)
    facts = WindowFacts(
        model="m",
        window_start=NOW,
        rows=len(window),
        freshness_lag_h=1.0,
        schema_fingerprint="x",
        metric_value=realised_auc(window) if labelled else None,
        labelled_rows=len(window) if labelled else 0,
        latency_p95_ms=40,
        requests_per_s=1,
        estimated_metric=window_estimate(estimator, window, "prediction"),
        estimate_reference=estimator.reference_estimate,
    )
    store.put_window(facts, bin_frame(refs, window))
    return store


def realised_auc(frame: pd.DataFrame) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(frame["label"], frame["prediction"]))


def only(store: TelemetryStore) -> ModelSignals:
    (signals,) = scan(load_batch(store), detail=True)
    return signals


def test_an_unlabelled_window_whose_scores_lose_confidence_gets_an_estimated_drop() -> None:
    rng = np.random.default_rng(3)
    reference, window = rows(rng, 5000, 2.0), rows(rng, 5000, 0.7)
    store = store_with(reference, window, labelled=False)

    signals = only(store)
    assert signals.metric_value is None and not signals.performance_drop
    assert signals.estimated_drop and signals.anomalous
    assert signals.estimated_metric is not None and signals.estimate_reference is not None
    assert signals.estimated_metric == pytest.approx(realised_auc(window), abs=0.02)
    assert signals.estimate_reference - signals.estimated_metric > 0.1

    (incident,) = group_incidents([signals])
    assert incident.kind == "estimated_performance_drop"
    assert "labels delayed" in incident.probable_cause
    assert "estimated" in incident.evidence[0] and "labels delayed" in incident.evidence[0]
    assert tier0_plan(incident).action is Action.WATCH


def test_an_estimated_drop_with_drift_stays_covariate_drift_and_is_only_watched() -> None:
    rng = np.random.default_rng(4)
    reference, window = rows(rng, 5000, 2.0), rows(rng, 5000, 0.7, amount_shift=30)
    signals = only(store_with(reference, window, labelled=False))
    assert signals.drifted_features == ["amount"] and signals.estimated_drop

    (incident,) = group_incidents([signals])
    assert incident.kind == "covariate_drift"  # not drift_with_performance_drop: no labels
    assert "estimated to have dropped" in incident.probable_cause
    assert tier0_plan(incident).action is Action.WATCH


def test_labels_arriving_later_replace_the_estimate() -> None:
    rng = np.random.default_rng(5)
    reference, window = rows(rng, 5000, 2.0), rows(rng, 5000, 0.7)
    store = store_with(reference, window, labelled=False)
    assert only(store).estimated_drop

    record_labels(store, "m", NOW, realised_auc(window), len(window))
    signals = only(store)
    assert signals.metric_value == pytest.approx(realised_auc(window))
    assert signals.performance_drop and not signals.estimated_drop
    assert signals.estimated_metric is None  # the realised metric wins
    assert store.db.execute("SELECT estimated_metric FROM windows").fetchall()[0][0] is not None
    (incident,) = group_incidents([signals])
    assert incident.kind == "concept_drift"  # with labels, the usual reading applies

    with pytest.raises(NotFoundError, match="no window starting"):
        record_labels(store, "m", NOW + timedelta(days=1), 0.5, 10)


def test_a_labelled_window_keeps_the_realised_reading_beside_its_estimate() -> None:
    rng = np.random.default_rng(6)
    reference = rows(rng, 5000, 2.0)
    signals = only(store_with(reference, rows(rng, 5000, 2.0), labelled=True))
    assert not (signals.performance_drop or signals.estimated_drop or signals.anomalous)


@pytest.mark.parametrize("metric", ["mae", "rmse", "mape"])
def test_a_regressor_estimate_follows_predictions_into_larger_errors(metric: str) -> None:
    rng = np.random.default_rng(7)

    def regression(n: int, centre: float, spread: float) -> tuple[np.ndarray, np.ndarray]:
        x = rng.normal(centre, spread, n)
        return x + 20, x + 20 + rng.normal(0, 0.1 + np.abs(x), n)

    estimator, realised_reference = fit_estimator(metric, *regression(20000, 0.0, 1.5))
    predictions, targets = regression(20000, 2.0, 0.5)
    estimate = estimator.estimate(predictions)
    assert estimate == pytest.approx(_realised(metric, predictions, targets), rel=0.06)
    assert estimate > 1.3 * realised_reference  # a constant loss model would miss it


def _realised(metric: str, predictions: np.ndarray, targets: np.ndarray) -> float:
    error = targets - predictions
    match metric:
        case "mae":
            return float(np.abs(error).mean())
        case "mape":
            return float(np.abs(error / targets).mean())
        case _:
            return float(np.sqrt((error**2).mean()))


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"prediction": np.linspace(0, 1, 500), "label": 1}), "all 1: one class"),
        (
            pd.DataFrame({"prediction": np.full(500, np.nan), "label": np.resize([0, 1], 500)}),
            "holds no numbers",
        ),
        (
            pd.DataFrame(
                {
                    "prediction": np.where(np.arange(500) < 450, np.nan, 0.5),
                    "label": np.resize([0, 1], 500),
                }
            ),
            "50 row(s) with both a prediction and a label",
        ),
        (
            pd.DataFrame({"prediction": np.linspace(-3, 3, 500), "label": np.resize([0, 1], 500)}),
            "must hold P(y=1) in [0, 1]",
        ),
        (pd.DataFrame({"prediction": np.linspace(0, 1, 500), "label": 2}), "must be 0 or 1"),
        (pd.DataFrame({"score": np.linspace(0, 1, 500), "label": 1}), "no column 'prediction'"),
    ],
)
def test_bad_calibration_data_gives_no_estimator_and_says_why(
    frame: pd.DataFrame, message: str
) -> None:
    with pytest.raises(NoEstimate, match=re.escape(message)):
        fit_performance_model("m", 1, "auc", frame, "prediction", "label")


def test_a_metric_without_an_estimate_and_a_window_without_predictions_say_so() -> None:
    rng = np.random.default_rng(8)
    reference = rows(rng, 2000, 2.0)
    with pytest.raises(NoEstimate, match="r2 cannot be estimated without labels"):
        fit_performance_model("m", 1, "r2", reference, "prediction", "label")
    estimator = fit_performance_model("m", 1, "auc", reference, "prediction", "label")
    with pytest.raises(NoEstimate, match="the window has no column 'prediction'"):
        window_estimate(estimator, reference.drop(columns="prediction"), "prediction")
    nan_window = reference.assign(prediction=np.nan)
    with pytest.raises(NoEstimate, match="holds no numbers"):
        window_estimate(estimator, nan_window, "prediction")


def test_the_estimator_is_stored_per_model_version_and_dropped_with_a_new_reference() -> None:
    rng = np.random.default_rng(9)
    reference = rows(rng, 2000, 2.0)
    store = store_with(reference, rows(rng, 2000, 2.0), labelled=False)
    stored = performance_model(store, "m", 1)
    assert stored is not None and stored.prediction == "prediction"
    assert stored.reference_realised == pytest.approx(realised_auc(reference))
    assert performance_model(store, "m", 2) is None
    meta = store.model("m").model_copy(update={"version": 2})
    store.put_model(meta, store.references("m"), {})
    assert performance_model(store, "m", 1) is None


def test_a_version_1_telemetry_file_migrates_its_windows_without_estimates(
    tmp_path: Path,
) -> None:
    path = tmp_path / "telemetry.duckdb"
    conn = duckdb.connect(str(path))
    conn.execute("CREATE TABLE lotsen_meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    conn.execute("INSERT INTO lotsen_meta VALUES ('schema', 'lotsen.telemetry'), ('version', '1')")
    conn.execute(_MIGRATIONS[0])
    conn.execute("INSERT INTO windows VALUES ('m', ?, 10, 1.0, 'x', 0.8, 10, 40.0, 1.0)", [NOW])
    conn.close()
    store = TelemetryStore(path)
    (row,) = store.db.execute(
        "SELECT metric_value, estimated_metric, estimate_reference FROM windows"
    ).fetchall()
    assert row == (0.8, None, None)
    assert performance_model(store, "m", 1) is None
    store.close()


@pytest.mark.slow  # simulates an 80-model fleet (~3 s)
def test_a_simulated_fleet_with_delayed_labels_estimates_and_never_escalates_on_it() -> None:
    store = TelemetryStore(":memory:")
    truth = simulate_fleet(store, 80, seed=21, label_delay_windows=1)
    signals = scan(load_batch(store))
    assert all(s.metric_value is None for s in signals)  # the newest window: no labels yet

    incidents = group_incidents([s for s in signals if s.anomalous])
    kinds = {i.kind for i in incidents}
    # no label, no concept drift, no bad deploy and no retrain: the estimate cannot confirm them
    assert not kinds & {"concept_drift", "bad_deploy", "drift_with_performance_drop"}
    (shifted,) = [
        f for f in truth if f.kind == "covariate_shift" and '"performance_drop"' in f.detail
    ]
    (incident,) = [i for i in incidents if shifted.models[0] in i.models]
    assert incident.kind == "covariate_drift"
    assert "estimated to have dropped" in incident.probable_cause
    assert tier0_plan(incident).action is Action.WATCH
    (concept,) = [f for f in truth if f.kind == "concept_drift"]
    assert not any(concept.models[0] in i.models for i in incidents)  # invisible to scores


@pytest.mark.parametrize("metric", ["accuracy", "f1", "precision", "recall", "auc"])
def test_classifier_metrics_with_certain_labels_are_sklearns_and_estimates_track_them(
    metric: str,
) -> None:
    from sklearn import metrics

    from tools.drift.estimated_metric import expected_classifier_metric

    rng = np.random.default_rng(10)
    reference, window = rows(rng, 20000, 2.0), rows(rng, 20000, 1.0)
    scores, labels = window["prediction"].to_numpy(), window["label"].to_numpy(float)
    sklearn_metric = {
        "accuracy": metrics.accuracy_score,
        "f1": metrics.f1_score,
        "precision": metrics.precision_score,
        "recall": metrics.recall_score,
    }
    realised = (
        metrics.roc_auc_score(labels, scores)
        if metric == "auc"
        else sklearn_metric[metric](labels, scores >= 0.5)
    )
    assert expected_classifier_metric(metric, labels, scores, 0.5) == pytest.approx(realised)
    estimator, _ = fit_estimator(
        metric, reference["prediction"].to_numpy(), reference["label"].to_numpy(float)
    )
    assert estimator.estimate(scores) == pytest.approx(realised, abs=0.015)


def test_the_assistants_drift_answer_shows_an_estimate_while_labels_are_delayed() -> None:
    rng = np.random.default_rng(3)
    store = store_with(rows(rng, 5000, 2.0), rows(rng, 5000, 0.7), labelled=False)
    signals = only(store)
    found = drift_now(store, models=[signals.model])
    assert found is not None
    [row] = found.drifting
    assert row.estimated_drop and row.performance_drop is False
    assert row.estimated_metric == signals.estimated_metric
    text = drift_line(row.model, False, row)
    assert "estimated" in text and "labels delayed" in text
