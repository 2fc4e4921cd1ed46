"""Pointing a model's deployment at a new champion: the one way every agent does it."""

from tools.cluster.protocol import Cluster
from tools.domain import RegisteredModel
from tools.domain.ownership import serving_namespace
from tools.errors import LotsenError


def serve_version(cluster: Cluster, model: RegisteredModel, version: int) -> bool:
    """Point the model's deployment in its serving namespace at `version` (dry-run first).

    Returns:
        False when the model has no deployment there (nothing to change).
    """
    namespace = serving_namespace(model)
    if namespace is None:
        return False
    try:
        cluster.deployment(namespace, model.name)
    except LotsenError:
        return False
    cluster.set_model_version(namespace, model.name, version, dry_run=True)
    cluster.set_model_version(namespace, model.name, version)
    return True
