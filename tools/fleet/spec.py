"""The plan of a fleet: what `fleet init` writes into the registry and the twin."""

from pydantic import BaseModel, ConfigDict

from tools.cluster.sim import ClusterSpec
from tools.domain import FeaturePipeline, NewModel, NewVersion


class ModelPlan(BaseModel):
    """One model to register, its versions and aliases."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: NewModel
    versions: tuple[NewVersion, ...]
    champion: int
    """Version number the `champion` alias points to."""
    challenger: int | None = None
    """Version number of the `challenger` alias, if any."""


class FleetSpec(BaseModel):
    """A whole world, generated deterministically from (models, seed)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int
    pipelines: tuple[FeaturePipeline, ...]
    models: tuple[ModelPlan, ...]
    cluster: ClusterSpec
