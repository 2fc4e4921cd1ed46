"""Wiring of the compliance reviewer: policies from settings, scans of the current world."""

from collections.abc import Iterator
from contextlib import contextmanager

from lotsen.settings import Settings
from lotsen.world import current_world, open_cluster, open_registry
from tools.cluster.protocol import Cluster
from tools.policy.evaluate import ComplianceReport, scan_compliance
from tools.policy.gate import ComplianceGate
from tools.policy.spec import Policy, load_policies
from tools.registry.mlflow_registry import MlflowRegistry


def policies(settings: Settings) -> list[Policy]:
    """Shipped policies plus LOTSEN_POLICY_FILES."""
    return load_policies(list(settings.policy_files))


@contextmanager
def open_platform(settings: Settings) -> Iterator[tuple[MlflowRegistry, Cluster]]:
    """Registry and cluster of the current world."""
    world = current_world(settings)
    registry = open_registry(settings, world)
    cluster = open_cluster(settings)
    try:
        yield registry, cluster
    finally:
        close = getattr(cluster, "close", None)
        if close is not None:
            close()


def scan(settings: Settings, about: str | None = None) -> ComplianceReport:
    """Scan the current world against all policies (or only what concerns `about`).

    `about` is a subject name; for a model its deployments count too.
    """
    rules = policies(settings)
    with open_platform(settings) as (registry, cluster):
        return scan_compliance(registry, cluster, policies=rules, about=about)


def gate(settings: Settings, registry: MlflowRegistry, cluster: Cluster) -> ComplianceGate:
    """The compliance gate with the configured policies."""
    return ComplianceGate(registry, cluster, policies(settings))
