"""Where a team's models run and who owns a pipeline: the one place these names are made.

A team has one namespace per environment, `<team>-<env>`. A model serves in its owner's
namespace of its environment; retraining runs in its owner's test namespace (the training
pool is a test pool). A pipeline's owner is `FeaturePipeline.owner`, never guessed from the
pipeline's name.
"""

from collections.abc import Iterable

from tools.domain.common import Environment
from tools.domain.models import FeaturePipeline, ModelMetadata, NewModel, RegisteredModel

TRAINING_ENV = Environment.TEST
"""Environment whose namespaces run retraining jobs."""


def namespace_name(team: str, env: Environment) -> str:
    """Namespace of a team in an environment."""
    return f"{team}-{env.value}"


def serving_namespace(model: NewModel | RegisteredModel) -> str | None:
    """Namespace where the model's champion serves: its owner's, in its environment.

    None when the model's env tag is missing or unknown (a registry Lotsen did not seed).
    """
    return namespace_name(model.owner, model.env) if model.env is not None else None


def training_namespace(model: ModelMetadata) -> str:
    """Namespace where the model is retrained: its owner's test namespace."""
    return namespace_name(model.owner, TRAINING_ENV)


def pipeline_owner(pipeline: str, pipelines: Iterable[FeaturePipeline]) -> str | None:
    """The team owning `pipeline` in a pipeline catalogue; None when it is not there."""
    return next((p.owner for p in pipelines if p.name == pipeline), None)
