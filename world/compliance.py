"""Compliance scans of the world, with the world's one policy source and clock."""

from tools.policy.evaluate import ComplianceReport, scan_compliance
from world.world import World


def scan(world: World, about: str | None = None) -> ComplianceReport:
    """Scan the world against all policies (or only what concerns `about`).

    `about` is a subject name; for a model its deployments count too.
    """
    return scan_compliance(
        world.registry, world.cluster, policies=world.policies, about=about, now=world.clock()
    )
