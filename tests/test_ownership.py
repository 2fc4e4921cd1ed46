"""Namespaces and owners come from one helper each, never from parsing a name."""

from tools.domain import Environment, FeaturePipeline, NewModel
from tools.domain.ownership import (
    namespace_name,
    pipeline_owner,
    serving_namespace,
    training_namespace,
)
from tools.fleet.spec import FleetSpec


def test_a_model_serves_in_its_owners_namespace_and_trains_in_its_test_namespace() -> None:
    model = NewModel(name="pd-0001", owner="risk", env=Environment.PROD, pipeline="x")
    assert serving_namespace(model) == "risk-prod" == namespace_name("risk", Environment.PROD)
    assert training_namespace(model) == "risk-test"
    dev = model.model_copy(update={"env": Environment.DEV})
    assert (serving_namespace(dev), training_namespace(dev)) == ("risk-dev", "risk-test")


def test_a_pipelines_owner_is_its_catalogue_entry_not_its_name() -> None:
    catalogue = [
        FeaturePipeline(name="risk-features-00", owner="growth", source="s3://x", features=()),
        FeaturePipeline(name="clickstream", owner="ops", source="kafka://y", features=()),
    ]
    assert pipeline_owner("risk-features-00", catalogue) == "growth"
    assert pipeline_owner("clickstream", catalogue) == "ops"
    assert pipeline_owner("growth-features-09", catalogue) is None


def test_the_generated_fleet_uses_the_helpers(small_fleet: FleetSpec) -> None:
    namespaces = {ns.name: ns for ns in small_fleet.cluster.namespaces}
    for plan, dep in zip(small_fleet.models, small_fleet.cluster.deployments, strict=True):
        assert dep.namespace == serving_namespace(plan.model)
        assert namespaces[dep.namespace].owner == plan.model.owner
        assert namespaces[training_namespace(plan.model)].env is Environment.TEST
