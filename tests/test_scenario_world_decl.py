"""A scenario's declared world: validated field by field, merged exactly into the fleet."""

from datetime import timedelta
from pathlib import Path

import pytest

from evals.scenario import ScenarioError, load_scenario
from evals.world_decl import WorldDecl, declared_fleet
from tools.domain import Environment, GpuSharing
from tools.errors import ConfigError
from tools.fleet.generate import generate_fleet
from tools.policy import tags

HEAD = """\
id: w-01
agent: compliance
level: detection
difficulty: easy
seed: 5
fleet: {models: 4}
telemetry: null
faults: [{kind: advance_clock, hours: 1}]
expect: [{check: no_finding}]
"""
WORLD = """\
world:
  pipelines:
    - {name: bureau, owner: risk, features: [income, region_cat]}
  models:
    - name: credit-limit
      owner: risk
      env: prod
      pipeline: bureau
      risk: high
      tags: {ai_act.inference_logging: "off"}
      versions:
        - {metrics: {auc: 0.8}, training_data: "s3://lake/a", promoted_from: test}
        - {metrics: {auc: 0.9}, change_kind: new_features, description: "adds income"}
      aliases: {champion: 1, challenger: 2}
      deployment: {replicas: 2, gpu_memory_gb: 6, requests_per_s: 3, last_request_hours_ago: 5}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "w-01.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        ("aliases: {champion: 1, challenger: 2}", "world.models.0.aliases"),
        ("risk: high", "world.models.0.risk"),
        ("replicas: 2", "world.models.0.deployment.replicas"),
    ],
)
def test_a_bad_world_field_is_one_line_naming_file_line_and_field(
    tmp_path: Path, edit: str, field: str
) -> None:
    bad = {
        "aliases: {champion: 1, challenger: 2}": "aliases: {challenger: 2}",
        "risk: high": "risk: extreme",
        "replicas: 2": "replicas: -1",
    }[edit]
    path = write(tmp_path, HEAD + WORLD.replace(edit, bad))
    with pytest.raises(ScenarioError) as exc:
        load_scenario(path)
    message = str(exc.value)
    assert "\n" not in message
    assert message.startswith(f"{path}:")
    assert f": {field}: " in message


def test_a_carbon_forecast_needs_24_hourly_values(tmp_path: Path) -> None:
    text = HEAD + WORLD + "  carbon_forecast: [100, 200]\n"
    with pytest.raises(ScenarioError, match=r"world: .*24"):
        load_scenario(write(tmp_path, text))
    ok = load_scenario(write(tmp_path, HEAD + WORLD + f"  carbon_forecast: {[50] * 24}\n"))
    assert ok.world is not None and ok.world.carbon_forecast == [50] * 24


def test_an_alias_must_point_at_a_declared_version(tmp_path: Path) -> None:
    text = HEAD + WORLD.replace("challenger: 2}", "challenger: 3}")
    with pytest.raises(ScenarioError, match="not declared"):
        load_scenario(write(tmp_path, text))


def test_the_declared_model_is_merged_exactly(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, HEAD + WORLD))
    assert scenario.world is not None
    base = generate_fleet(4, 5)
    fleet = declared_fleet(base, scenario.world)
    assert len(fleet.models) == 5
    plan = fleet.models[-1]
    assert plan.model.name == "credit-limit"
    # exactly the declared AI Act tags: nothing is filled in
    ai_act = {k: v for k, v in plan.model.tags.items() if k.startswith("ai_act.")}
    assert ai_act == {tags.INFERENCE_LOGGING: "off"}
    assert plan.model.tags["features"] == "income,region_cat"
    assert (plan.champion, plan.challenger) == (1, 2)
    v1, v2 = plan.versions
    assert v1.lineage.training_data == "s3://lake/a"
    assert v1.lineage.promoted_from is Environment.TEST
    assert v2.lineage.parent_version == 1
    assert v2.tags[tags.CHANGE_KIND] == "new_features"
    assert v2.description == "adds income"
    dep = fleet.cluster.deployments[-1]
    assert (dep.namespace, dep.replicas, dep.gpu_memory_gb) == ("risk-prod", 2, 6.0)
    assert dep.gpu.sharing is GpuSharing.MIG
    assert dep.last_request_at == fleet.cluster.start - timedelta(hours=5)
    names = {n.name: n for n in fleet.cluster.namespaces}
    assert names["risk-prod"].gpu_quota is not None
    assert names["risk-prod"].gpu_quota >= 2 * 1 / 7
    assert names["risk-test"].env is Environment.TEST  # where it is retrained
    # the rest of the fleet is still the seed's
    assert fleet.models[:4] == base.models
    assert fleet.cluster.deployments[:4] == base.cluster.deployments


def test_declared_names_never_shadow_generated_ones() -> None:
    base = generate_fleet(4, 5)
    taken = base.models[0].model.name
    pipeline = base.pipelines[0].name
    decl = WorldDecl.model_validate(
        {"models": [{"name": taken, "owner": "x", "env": "dev", "pipeline": pipeline,
                     "versions": [{}]}]}
    )  # fmt: skip
    with pytest.raises(ConfigError, match=f"{taken} is a generated model"):
        declared_fleet(base, decl)
    unknown = WorldDecl.model_validate(
        {"models": [{"name": "m", "owner": "x", "env": "dev", "pipeline": "nope",
                     "versions": [{}]}]}
    )  # fmt: skip
    with pytest.raises(ConfigError, match="unknown pipeline 'nope'"):
        declared_fleet(base, unknown)


def test_declared_pools_and_namespaces_replace_or_add() -> None:
    decl = WorldDecl.model_validate(
        {
            "pools": [
                {"name": "dev-l4-ts8", "env": "dev", "gpu_type": "L4-24GB", "gpus_per_node": 2,
                 "sharing": "time_sliced", "time_slice_replicas": 8, "size": 3}
            ],
            "namespaces": [
                {"name": "lab-dev", "env": "dev", "owner": None, "identities": ["iam://lab"]}
            ],
        }
    )  # fmt: skip
    fleet = declared_fleet(generate_fleet(4, 5), decl)
    pool = next(p for p in fleet.cluster.pools if p.pool.name == "dev-l4-ts8")
    assert (pool.size, pool.pool.time_slice_replicas) == (3, 8)
    lab = next(n for n in fleet.cluster.namespaces if n.name == "lab-dev")
    assert lab.owner is None and lab.identities == ["iam://lab"]


def test_the_same_name_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="namespace declared twice: a"):
        WorldDecl.model_validate({"namespaces": [{"name": "a", "env": "dev", "owner": "t"}] * 2})
