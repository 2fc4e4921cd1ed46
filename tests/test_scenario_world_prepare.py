"""A declared world, prepared as an eval prepares it: registry, twin, incidents, forecast."""

from pathlib import Path

import pytest
import yaml

from evals.adapters.base import tier_settings
from evals.scenario import load_scenario
from evals.setup import prepare
from tools.domain import Environment
from tools.policy import tags
from world.world import World

FORECAST = [300.0] * 6 + [50.0] * 8 + [300.0] * 10
SCENARIO = {
    "id": "w-prep-01",
    "agent": "compliance",
    "level": "detection",
    "difficulty": "easy",
    "seed": 5,
    "fleet": {"models": 4},
    "telemetry": None,
    "control": True,
    "expect": [{"check": "no_finding"}],
    "act_anyway": [{"do": "report_finding", "policy_id": "AIA-01", "subject": "credit-limit"}],
    "world": {
        "pipelines": [{"name": "bureau", "owner": "risk", "features": ["income", "region_cat"]}],
        "models": [
            {
                "name": "credit-limit",
                "owner": "risk",
                "env": "prod",
                "pipeline": "bureau",
                "risk": "high",
                "tags": {tags.INFERENCE_LOGGING: "on"},
                "versions": [
                    {"metrics": {"auc": 0.8}, "training_data": "s3://a", "promoted_from": "test"},
                    {"metrics": {"auc": 0.9}, "change_kind": "new_features"},
                    {"metrics": {"auc": 0.7}, "description": "shadow"},
                ],
                "aliases": {"champion": 1, "challenger": 2, "shadow": 3},
                "deployment": {"replicas": 2, "gpu_memory_gb": 6, "requests_per_s": 7},
            }
        ],
        "incidents": [
            {"kind": "data_quality", "models": ["credit-limit"], "pipeline": "bureau"},
            {"kind": "latency_regression", "models": ["credit-limit"], "status": "acknowledged"},
        ],
        "carbon_forecast": FORECAST,
    },
}


@pytest.mark.slow
def test_a_declared_world_is_seeded_exactly_and_the_trial_reads_its_forecast(
    tmp_path: Path,
) -> None:
    path = tmp_path / "w-prep-01.yaml"
    path.write_text(yaml.safe_dump(SCENARIO), encoding="utf-8")
    scenario = load_scenario(path)
    target = tmp_path / "world"
    prepare(scenario, tmp_path / "cache", target, light=True)
    settings = tier_settings(target, None)
    assert settings.carbon_curve_file is not None
    with World(settings) as world:
        model = world.registry.get_model("credit-limit")
        assert model.env is Environment.PROD
        assert model.aliases == {"champion": 1, "challenger": 2, "shadow": 3}
        assert {k for k in model.tags if k.startswith("ai_act.")} == {tags.INFERENCE_LOGGING}
        v1, v2, v3 = world.registry.list_versions("credit-limit")
        assert v1.metrics == {"auc": 0.8} and v1.lineage.training_data == "s3://a"
        assert v2.tags[tags.CHANGE_KIND] == "new_features"
        assert v3.description == "shadow"
        (dep,) = [d for d in world.cluster.deployments("risk-prod") if d.model == "credit-limit"]
        assert dep.ready_replicas == 2  # placed, not pending
        assert (dep.gpu_memory_gb, dep.requests_per_s, dep.model_version) == (6.0, 7.0, 1)
        statuses = {r.kind: r.status for r in world.runs.incidents.occurrences()}
        assert statuses == {"data_quality": "open", "latency_regression": "acknowledged"}
        assert list(world.capacity.carbon.g_per_kwh) == FORECAST
    # the rest of the fleet is the seed's
    with World(tier_settings(target, None)) as world:
        assert len(world.registry.list_models()) == 5
