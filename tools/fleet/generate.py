"""Generate a realistic fleet from (number of models, seed): pipelines, models, versions.

Same inputs, same fleet: everything is drawn from one `random.Random(seed)`.
"""

import random
from datetime import UTC, datetime, timedelta

from tools.domain import (
    AiActRisk,
    ChangeKind,
    ChangePlan,
    Environment,
    FeatureKind,
    FeaturePipeline,
    FeatureSpec,
    Lineage,
    ModelTask,
    NewModel,
    NewVersion,
)
from tools.errors import ConfigError
from tools.fleet.layout import plan_cluster
from tools.fleet.spec import FleetSpec, ModelPlan
from tools.policy import tags

FLEET_START = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
"""Virtual clock of a freshly seeded twin."""

TEAMS = ("growth", "risk", "supply-chain", "pricing", "support", "fraud", "people", "energy")
HIGH_RISK_TEAMS = {"risk", "fraud", "people"}
"""Teams whose use cases (credit, fraud, HR) fall under the AI Act's high-risk list."""

_USE_CASES: dict[str, tuple[tuple[str, ModelTask], ...]] = {
    "growth": (("churn", ModelTask.CLASSIFICATION), ("upsell", ModelTask.CLASSIFICATION)),
    "risk": (("credit-score", ModelTask.CLASSIFICATION), ("pd", ModelTask.REGRESSION)),
    "supply-chain": (("demand", ModelTask.FORECAST), ("lead-time", ModelTask.REGRESSION)),
    "pricing": (("price-elasticity", ModelTask.REGRESSION), ("markdown", ModelTask.FORECAST)),
    "support": (("ticket-routing", ModelTask.CLASSIFICATION), ("csat", ModelTask.REGRESSION)),
    "fraud": (("fraud", ModelTask.CLASSIFICATION), ("aml-alert", ModelTask.CLASSIFICATION)),
    "people": (("cv-screening", ModelTask.CLASSIFICATION), ("attrition", ModelTask.CLASSIFICATION)),
    "energy": (("load-forecast", ModelTask.FORECAST), ("anomaly", ModelTask.CLASSIFICATION)),
}
_SOURCES = (
    "kafka://events",
    "postgres://erp",
    "s3://lake/raw",
    "snowflake://dwh",
    "sftp://partner",
)
_ENV_WEIGHTS = ((Environment.PROD, 0.5), (Environment.TEST, 0.3), (Environment.DEV, 0.2))


def generate_fleet(models: int, seed: int) -> FleetSpec:
    """Plan a fleet of `models` models.

    Raises:
        ConfigError: models is not positive.
    """
    if models <= 0:
        raise ConfigError(f"--models must be a positive number of models, got {models}")
    rng = random.Random(seed)
    pipelines = _pipelines(rng, max(3, min(60, models // 20)))
    plans = [_model(rng, i, pipelines) for i in range(models)]
    return FleetSpec(
        seed=seed,
        pipelines=tuple(pipelines),
        models=tuple(plans),
        cluster=plan_cluster(rng, plans, seed, FLEET_START),
    )


def _pipelines(rng: random.Random, count: int) -> list[FeaturePipeline]:
    pipelines = []
    for i in range(count):
        team = TEAMS[i % len(TEAMS)]
        name = f"{team}-features-{i:02d}"
        features = tuple(_feature(rng, name, j) for j in range(rng.randint(12, 40)))
        pipelines.append(
            FeaturePipeline(name=name, owner=team, source=rng.choice(_SOURCES), features=features)
        )
    return pipelines


def _feature(rng: random.Random, pipeline: str, index: int) -> FeatureSpec:
    if rng.random() < 0.25:
        count = rng.randint(3, 12)
        return FeatureSpec(
            name=f"f{index:02d}_cat",
            kind=FeatureKind.CATEGORICAL,
            categories=tuple(f"c{k}" for k in range(count)),
        )
    return FeatureSpec(
        name=f"f{index:02d}",
        kind=FeatureKind.NUMERIC,
        mean=round(rng.uniform(-50, 500), 2),
        std=round(rng.uniform(0.5, 80), 2),
    )


def _model(rng: random.Random, index: int, pipelines: list[FeaturePipeline]) -> ModelPlan:
    pipeline = rng.choice(pipelines)
    team = pipeline.owner if rng.random() < 0.7 else rng.choice(TEAMS)
    use_case, task = rng.choice(_USE_CASES[team])
    env = rng.choices([e for e, _ in _ENV_WEIGHTS], [w for _, w in _ENV_WEIGHTS])[0]
    risk = _risk(rng, team)
    features = rng.sample([f.name for f in pipeline.features], k=min(30, len(pipeline.features)))
    model = NewModel(
        name=f"{use_case}-{index:04d}",
        owner=team,
        env=env,
        pipeline=pipeline.name,
        description=f"{use_case.replace('-', ' ')} model of the {team} team",
        task=task,
        ai_act_risk=risk,
        change_plan=ChangePlan(reference=f"doc://change-plans/{use_case}")
        if risk is AiActRisk.HIGH
        else None,
        tags={"features": ",".join(sorted(features)), "size": rng.choice(("s", "s", "m", "l"))},
    )
    if risk is AiActRisk.HIGH:
        model = model.model_copy(update={"tags": {**model.tags, **_ai_act_tags(team, use_case)}})
    versions = _versions(rng, model, rng.choices((1, 2, 3), (0.6, 0.3, 0.1))[0])
    challenger = len(versions) if len(versions) > 1 and rng.random() < 0.3 else None
    champion = len(versions) - 1 if challenger else len(versions)
    approved = versions[champion - 1]
    versions[champion - 1] = approved.model_copy(
        update={"tags": {**approved.tags, tags.APPROVAL: f"seed by {team}.release-manager"}}
    )
    return ModelPlan(
        model=model, versions=tuple(versions), champion=champion, challenger=challenger
    )


def _ai_act_tags(team: str, use_case: str) -> dict[str, str]:
    """A high-risk model's documented duties, complete (compliance gaps are injected)."""
    return {
        tags.OVERSEER: f"{team}.oversight-lead",
        tags.INFERENCE_LOGGING: "on",
        tags.LOG_RETENTION_DAYS: "365",
        tags.POST_MARKET_PLAN: f"doc://post-market/{use_case}",
        tags.ROLLBACK_TESTED_AT: (FLEET_START - timedelta(days=40)).date().isoformat(),
    }


def _risk(rng: random.Random, team: str) -> AiActRisk:
    if team in HIGH_RISK_TEAMS and rng.random() < 0.6:
        return AiActRisk.HIGH
    return AiActRisk.LIMITED if rng.random() < 0.2 else AiActRisk.MINIMAL


def _versions(rng: random.Random, model: NewModel, count: int) -> list[NewVersion]:
    versions = []
    for v in range(1, count + 1):
        versions.append(
            NewVersion(
                metrics=_metrics(rng, model.task),
                lineage=Lineage(
                    training_data=f"lake://{model.pipeline}/2026-{9 + v:02d}",
                    parent_version=v - 1 if v > 1 else None,
                    code_version=f"{rng.getrandbits(40):010x}",
                    promoted_from=_previous_env(model.env),
                ),
                description=f"trained on the 2026-{9 + v:02d} window",
                tags={tags.DATA_CHECKS: "passed"}
                | ({tags.CHANGE_KIND: ChangeKind.RETRAIN_SAME_FEATURES.value} if v > 1 else {}),
            )
        )
    return versions


def _metrics(rng: random.Random, task: ModelTask) -> dict[str, float]:
    match task:
        case ModelTask.CLASSIFICATION:
            auc = rng.uniform(0.72, 0.95)
            return {"auc": round(auc, 4), "f1": round(auc - rng.uniform(0.05, 0.2), 4)}
        case ModelTask.REGRESSION:
            return {"rmse": round(rng.uniform(0.5, 20), 3), "r2": round(rng.uniform(0.5, 0.92), 4)}
        case ModelTask.FORECAST:
            return {
                "mape": round(rng.uniform(0.04, 0.3), 4),
                "wape": round(rng.uniform(0.05, 0.35), 4),
            }


def _previous_env(env: Environment) -> Environment | None:
    return {Environment.PROD: Environment.TEST, Environment.TEST: Environment.DEV}.get(env)
