"""The demo scenario: one of each fault, on targets that do not overlap, plus seasonal noise."""

from collections import Counter

from tools.domain import FeatureKind, FeaturePipeline
from tools.telemetry.faults import FaultSpec
from tools.telemetry.simulate import SimModel


def demo_faults(models: list[SimModel], pipelines: list[FeaturePipeline]) -> list[FaultSpec]:
    """One of each fault kind, on targets that do not overlap.

    An upstream null spike on the largest pipeline, two covariate shifts (one with a
    performance drop), concept drift, gradual drift, a latency regression after a deploy
    and a bad deploy, each on a model of another pipeline.
    """
    by_pipeline = Counter(m.pipeline for m in models)
    broken = by_pipeline.most_common(1)[0][0]
    pipeline = next(p for p in pipelines if p.name == broken)
    numeric = {f.name for f in pipeline.features if f.kind is FeatureKind.NUMERIC}
    used = Counter(f for m in models if m.pipeline == broken for f in m.features if f in numeric)
    feature = used.most_common(1)[0][0]
    others = [m for m in models if m.pipeline != broken]
    kinds = numeric_features(others, pipelines)
    faults = [
        FaultSpec(kind="pipeline_break", pipeline=broken, mode="null_spike", features=[feature])
    ]
    plan = [
        ("covariate_shift", {"sigma": 1.0}),
        ("covariate_shift", {"sigma": 1.5, "performance_drop": 0.06}),
        ("concept_drift", {"performance_drop": 0.08}),
        ("gradual_drift", {"sigma": 1.2}),
        ("latency_regression", {"factor": 2.5}),
        ("bad_deploy", {"performance_drop": 0.1}),
    ]
    spread = others[:: max(1, len(others) // (2 * len(plan)))] + others
    targets = _one_per_pipeline(spread, len(plan) - 2)
    taken = {t.pipeline for t in targets}
    # Rollback needs an earlier version: the deploy faults go to models with a champion >= v2.
    redeployed = [m for m in spread if m.version >= 2 and m.pipeline not in taken]
    targets += _one_per_pipeline(redeployed, 2)
    for model, (kind, extra) in zip(targets, plan, strict=False):
        features = kinds[model.name][:2] if kind in ("covariate_shift", "gradual_drift") else []
        faults.append(
            FaultSpec.model_validate(
                {"kind": kind, "model": model.name, "features": features, **extra}
            )
        )
    return faults


def _one_per_pipeline(candidates: list[SimModel], count: int) -> list[SimModel]:
    """Targets on distinct pipelines, so independent faults never look like a shared cause."""
    chosen: list[SimModel] = []
    for model in candidates:
        if model.pipeline not in {c.pipeline for c in chosen}:
            chosen.append(model)
        if len(chosen) == count:
            break
    return chosen


def numeric_features(
    models: list[SimModel], pipelines: list[FeaturePipeline]
) -> dict[str, list[str]]:
    """Each model's numeric features, sorted."""
    numeric = {
        p.name: {f.name for f in p.features if f.kind is FeatureKind.NUMERIC} for p in pipelines
    }
    return {m.name: sorted(f for f in m.features if f in numeric[m.pipeline]) for m in models}
