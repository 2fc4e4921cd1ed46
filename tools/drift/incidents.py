"""Grouping model signals into incidents with a probable cause.

Two hundred models broken by one upstream pipeline are one incident, not two hundred:
- data-quality failures group by feature pipeline;
- drift groups by (pipeline, drifted features), so a shift in a shared source is one incident;
- latency regressions group by deploy time;
- a performance drop without drift is concept drift (one incident per model), and a drop
  right after a deploy is a bad deploy;
- a drop estimated from prediction scores while labels are delayed is never either: alone it
  is an `estimated_performance_drop` for a human to watch (the estimate cannot see concept
  drift, and a retrain or rollback needs labels), and with drift it stays covariate drift
  with the estimate in its cause and evidence.

An incident's `key` names the problem, not the window it was seen in: the kind and its scope
(the pipeline of a data-quality break; pipeline and drifted features of a drift; the models
of a performance drop or latency regression). The next scan of the same break has the same
key, so the incident store (memory/incidents.py) updates the open incident instead of opening
a second one; `id` names one occurrence (the key itself for the first, `<key>-<n>` for a
recurrence after the problem was resolved or closed).
"""

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field

from tools.drift.signals import ModelSignals

IncidentKind = Literal[
    "data_quality",
    "covariate_drift",
    "drift_with_performance_drop",
    "concept_drift",
    "bad_deploy",
    "latency_regression",
    "estimated_performance_drop",
]
RECENT_DEPLOY = timedelta(hours=36)
"""A deploy this close to the window start counts as 'right after a deploy'."""
MATERIAL_RATIO = 1.5
"""Drift makes an incident only if it is material: dataset drift, or a feature this far past
its threshold (distance x1.5, or p-value /1.5^4). Weaker drift stays on the watch list (the
scan's drifted-models table). Tens of thousands of tests per scan at Evidently's thresholds
otherwise raise a few false incidents from sampling noise and seasonality alone."""


P_TESTS = ("ks", "chi_square")
NOISE_Z = 5.0
"""A Wasserstein distance is material only above NOISE_Z x sqrt(1/n_ref + 1/n_cur) too.

Between two samples of one distribution the normed distance is ~1.2 x that scale at the
median and 3.4 x at the 99.9th percentile: at 2,000 rows per window (scale 0.032) a fleet
of thousands of features sees a few healthy ones past the fixed 0.15 cut-off from sampling
alone. Five times the scale (0.16 at 2,000 + 2,000 rows, 0.10 at 5,000 + 5,000, so the fixed
cut-off rules there) keeps noise out and lets any real shift of 0.2 sd or more through."""


class Incident(BaseModel):
    """One problem, however many models it touches."""

    id: str
    """The occurrence: remediation's thread and idempotency keys derive from it."""
    kind: IncidentKind
    probable_cause: str
    pipeline: str | None = None
    models: list[str]
    features: list[str] = Field(default_factory=list)
    window_start: datetime
    evidence: list[str] = Field(default_factory=list)
    key: str = ""
    """The problem across scans: kind and scope, no window (empty: a checkpoint of an older
    Lotsen, whose ids hashed the window in)."""
    occurrence: int = 1
    """Which occurrence of the problem `id` is (a recurrence after resolution is the next)."""


def occurrence_id(key: str, occurrence: int) -> str:
    """The id of an occurrence of a problem: the key, then `<key>-2`, `<key>-3`, ..."""
    return key if occurrence == 1 else f"{key}-{occurrence}"


def group_incidents(signals: list[ModelSignals]) -> list[Incident]:
    """Incidents from the anomalous models of one scan, largest first."""
    incidents = _data_quality(s for s in signals if s.dq_issues)
    healthy = [s for s in signals if not s.dq_issues]
    drifting = [s for s in healthy if s.drifted_features and _material(s)]
    incidents += _drift(drifting)
    incidents += _performance([s for s in healthy if s.performance_drop and s not in drifting])
    incidents += _estimated([s for s in healthy if s.estimated_drop and s not in drifting])
    incidents += _latency([s for s in signals if s.latency_regression])
    return sorted(incidents, key=lambda i: (-len(i.models), i.kind, i.id))


def _data_quality(signals: Iterable[ModelSignals]) -> list[Incident]:
    by_pipeline: dict[str, list[ModelSignals]] = defaultdict(list)
    for s in signals:
        by_pipeline[s.pipeline].append(s)
    out = []
    for pipeline, group in sorted(by_pipeline.items()):
        issues = Counter((i.kind, i.feature) for s in group for i in s.dq_issues)
        (kind, feature), _ = issues.most_common(1)[0]
        where = f" in {feature}" if feature else ""
        example = next(
            i.detail for s in group for i in s.dq_issues if (i.kind, i.feature) == (kind, feature)
        )
        out.append(
            _incident(
                "data_quality",
                group,
                scope=pipeline,
                pipeline=pipeline,
                features=sorted({f for _, f in issues if f}),
                cause=f"upstream data-quality break in pipeline {pipeline}: "
                f"{kind.replace('_', ' ')}{where} ({example}); do not retrain, fix the pipeline",
                evidence=[
                    f"{k}{'/' + f if f else ''}: {n} model(s)"
                    for (k, f), n in issues.most_common(5)
                ],
            )
        )
    return out


def _drift(signals: list[ModelSignals]) -> list[Incident]:
    groups: dict[tuple[str, tuple[str, ...]], list[ModelSignals]] = defaultdict(list)
    for s in signals:
        groups[(s.pipeline, tuple(sorted(s.drifted_features)))].append(s)
    out = []
    for (pipeline, features), group in sorted(groups.items()):
        dropped = [s for s in group if s.performance_drop]
        kind: IncidentKind = "drift_with_performance_drop" if dropped else "covariate_drift"
        scope = f"{len(group)} models of pipeline {pipeline}" if len(group) > 1 else group[0].model
        tail = "and performance dropped" if dropped else "performance is healthy"
        if not dropped and any(s.estimated_drop for s in group):
            tail = f"performance is estimated to have dropped ({_DELAYED})"
        out.append(
            _incident(
                kind,
                group,
                scope=f"{pipeline}|{','.join(features)}",
                pipeline=pipeline,
                features=list(features),
                cause=f"input drift in {', '.join(features)} ({scope}); {tail}",
                evidence=[_perf(s) for s in group[:5]],
            )
        )
    return out


def _performance(signals: list[ModelSignals]) -> list[Incident]:
    out = []
    for s in signals:
        recent = s.window_start - s.deployed_at < RECENT_DEPLOY
        kind: IncidentKind = "bad_deploy" if recent else "concept_drift"
        cause = (
            f"performance dropped right after the deploy at {s.deployed_at:%Y-%m-%d %H:%M}"
            if recent
            else "performance dropped while inputs did not drift (concept drift)"
        )
        out.append(
            _incident(
                kind, [s], scope=s.model, pipeline=s.pipeline, cause=cause, evidence=[_perf(s)]
            )
        )
    return out


def _estimated(signals: list[ModelSignals]) -> list[Incident]:
    out = []
    for s in signals:
        recent = s.window_start - s.deployed_at < RECENT_DEPLOY
        after = f" after the deploy at {s.deployed_at:%Y-%m-%d %H:%M}" if recent else ""
        out.append(
            _incident(
                "estimated_performance_drop",
                [s],
                scope=s.model,
                pipeline=s.pipeline,
                cause=f"performance estimated from prediction scores dropped{after} while "
                f"inputs did not drift ({_DELAYED})",
                evidence=[_perf(s)],
            )
        )
    return out


def _latency(signals: list[ModelSignals]) -> list[Incident]:
    groups: dict[datetime, list[ModelSignals]] = defaultdict(list)
    for s in signals:
        groups[s.deployed_at.replace(minute=0, second=0, microsecond=0)].append(s)
    out = []
    for deployed, group in sorted(groups.items()):
        worst = max(s.latency_ratio for s in group)
        out.append(
            _incident(
                "latency_regression",
                group,
                scope=",".join(sorted(s.model for s in group)),
                cause=f"p95 latency up to x{worst:.1f} "
                f"since the deploy at {deployed:%Y-%m-%d %H:%M}",
                evidence=[f"{s.model}: p95 x{s.latency_ratio:.2f}" for s in group[:5]],
            )
        )
    return out


def _incident(
    kind: IncidentKind,
    group: list[ModelSignals],
    *,
    scope: str,
    cause: str,
    pipeline: str | None = None,
    features: list[str] | None = None,
    evidence: list[str] | None = None,
) -> Incident:
    """One incident; `scope` is what makes it the same problem on the next scan."""
    models = sorted(s.model for s in group)
    key = f"inc-{hashlib.sha1(f'{kind}|{scope}'.encode()).hexdigest()[:10]}"
    return Incident(
        id=key,
        key=key,
        kind=kind,
        probable_cause=cause,
        pipeline=pipeline,
        models=models,
        features=features or [],
        window_start=group[0].window_start,
        evidence=evidence or [],
    )


def _material(s: ModelSignals) -> bool:
    """Drift clearly beyond noise: dataset drift, or a feature well past its threshold.

    p-value tests must also pass the scan's false-discovery-rate cutoff (`s.p_cutoff`).
    """
    if s.dataset_drift:
        return True
    for f in s.features:
        if not f.drifted:
            continue
        if f.test in P_TESTS and f.score <= min(f.threshold / MATERIAL_RATIO**4, s.p_cutoff):
            return True
        if f.test == "wasserstein" and f.score >= max(
            f.threshold * MATERIAL_RATIO, NOISE_Z * f.sample_margin
        ):
            return True
        if f.test == "jensen_shannon" and f.score >= f.threshold * MATERIAL_RATIO:
            return True
    return False


_DELAYED = (
    "labels delayed: a human checks it; retrain, rollback or promotion only once labels "
    "confirm, as an estimate from scores cannot see concept drift"
)


def _perf(s: ModelSignals) -> str:
    if s.estimated_metric is not None and s.estimate_reference is not None:
        return (
            f"{s.model}: {s.metric} estimated {s.estimated_metric:.3f} (labels delayed; "
            f"{s.estimate_reference:.3f} estimated on the reference)"
        )
    if s.metric_value is None or s.reference_metric is None:
        return f"{s.model}: no labels"
    return f"{s.model}: {s.metric} {s.metric_value:.3f} (reference {s.reference_metric:.3f})"
