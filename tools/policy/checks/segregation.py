"""dev/test/prod segregation checks over the cluster (and the registry for prod serving)."""

from collections import defaultdict
from typing import Any

from tools.domain import Deployment, Environment, GpuSharing, Namespace, NodePool
from tools.policy import tags
from tools.policy.checks.registry import check
from tools.policy.facts import GpuSubject, PlatformFacts


@check("namespace_labels")
def namespace_labels(ns: Namespace, facts: PlatformFacts, params: dict[str, Any]) -> list[str]:
    """Every namespace carries the required labels (env with a known value, owner)."""
    problems = [
        f"label {key!r} missing"
        for key in params.get("required", ["env", "owner"])
        if not ns.labels.get(key)
    ]
    env = ns.labels.get("env")
    if env and env not in {e.value for e in Environment}:
        problems.append(f"label env={env!r} is not one of dev, test, prod")
    return problems


@check("image_registry_path")
def image_registry_path(dep: Deployment, facts: PlatformFacts, params: dict[str, Any]) -> list[str]:
    """The model server pulls its image from the registry path of its own environment."""
    template = str(params.get("allowed_prefix", "registry.lotsen.internal/{env}/"))
    prefix = template.format(env=dep.env.value)
    if not dep.image:
        return ["no image recorded for the deployment"]
    if not dep.image.startswith(prefix):
        return [f"image {dep.image} is not under {prefix}"]
    return []


@check("identities_not_shared")
def identities_not_shared(ns: Namespace, facts: PlatformFacts, params: dict[str, Any]) -> list[str]:
    """No identity or secret is used by namespaces of another environment."""
    users: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for other in facts.namespaces.values():
        for identity in other.identities:
            users[identity][other.env.value if other.env else "unlabelled"].add(other.name)
    own = ns.env.value if ns.env else "unlabelled"
    problems = []
    for identity in ns.identities:
        foreign = {env: names for env, names in users[identity].items() if env != own}
        if foreign:
            where = "; ".join(
                f"{env} ({', '.join(sorted(names))})" for env, names in sorted(foreign.items())
            )
            problems.append(f"identity {identity} is also used in {where}")
    return problems


@check("network_default_deny")
def network_default_deny(ns: Namespace, facts: PlatformFacts, params: dict[str, Any]) -> list[str]:
    """Ingress is denied by default and only allowed from the namespace's own environment."""
    problems = [] if ns.network_default_deny else ["no default-deny ingress policy"]
    own = ns.env.value if ns.env else None
    foreign = sorted(src for src in ns.ingress_from if src != own)
    if foreign:
        problems.append(f"ingress allowed from {', '.join(foreign)}")
    return problems


@check("prod_serves_champion")
def prod_serves_champion(
    dep: Deployment, facts: PlatformFacts, params: dict[str, Any]
) -> list[str]:
    """A prod server serves its model's @champion, validated in test, with a recorded approval."""
    model = facts.model(dep.model)
    if model is None:
        return [f"serves {dep.model}, which is not in the registry"]
    champion = model.aliases.get("champion")
    if dep.alias != "champion":
        return [f"follows @{dep.alias}, not @champion"]
    if champion != dep.model_version:
        return [f"serves v{dep.model_version} but @champion is v{champion}"]
    version = facts.version(dep.model, champion)
    if version is None:
        return [f"v{champion} is missing from the registry"]
    problems = []
    if version.lineage.promoted_from is not Environment.TEST:
        source = version.lineage.promoted_from.value if version.lineage.promoted_from else "none"
        problems.append(f"v{champion} has no lineage from test (promoted from: {source})")
    if not version.tags.get(tags.APPROVAL):
        problems.append(f"v{champion} has no recorded promotion approval")
    return problems


@check("no_time_slicing_across_envs")
def no_time_slicing_across_envs(
    subject: GpuSubject, facts: PlatformFacts, params: dict[str, Any]
) -> list[str]:
    """A time-sliced or fractional GPU never holds workloads of two environments (MIG may)."""
    if subject.gpu.sharing is GpuSharing.MIG:
        return []
    namespaces: dict[str, set[str]] = defaultdict(set)
    for slot in subject.gpu.slots:
        if slot.occupant is not None:
            env = facts.env_of_namespace(slot.occupant.namespace)
            namespaces[env.value if env else "unlabelled"].add(slot.occupant.namespace)
    if len(namespaces) > 1:
        involved = "; ".join(
            f"{env}: {', '.join(sorted(names))}" for env, names in sorted(namespaces.items())
        )
        return [
            f"{subject.gpu.sharing.value} GPU shared by {', '.join(sorted(namespaces))} "
            f"workloads (namespaces {involved})"
        ]
    return []


@check("pool_tainted")
def pool_tainted(pool: NodePool, facts: PlatformFacts, params: dict[str, Any]) -> list[str]:
    """The pool and all its nodes carry the environment taint (NoSchedule or NoExecute)."""
    key = str(params.get("taint_key", "lotsen.io/env"))
    effects = {"NoSchedule", "NoExecute"}

    def tainted(taints: list[Any]) -> bool:
        return any(t.key == key and t.effect in effects for t in taints)

    problems = [] if tainted(pool.taints) else [f"pool has no {key} taint"]
    bare = [n.name for n in facts.nodes if n.pool == pool.name and not tainted(n.taints)]
    if bare:
        problems.append(f"{len(bare)} node(s) without the taint, e.g. {bare[0]}")
    return problems


@check("quota_reclaimable")
def quota_reclaimable(env: Environment, facts: PlatformFacts, params: dict[str, Any]) -> list[str]:
    """The environment's quotas fit its own ready capacity and nobody else runs on it."""
    capacity = sum(
        slot.equivalents
        for node in facts.nodes
        if node.env is env and node.ready
        for gpu in node.gpus
        for slot in gpu.slots
    )
    quotas = [ns for ns in facts.namespaces.values() if ns.env is env]
    problems = [f"namespace {ns.name} has no GPU quota" for ns in quotas if ns.gpu_quota is None]
    promised = sum(ns.gpu_quota or 0.0 for ns in quotas)
    if promised > capacity + 1e-9:
        problems.append(
            f"quotas promise {promised:g} GPU but ready {env.value} nodes offer {capacity:g}"
        )
    squatters = sorted(
        {
            f"{slot.occupant.namespace}/{slot.occupant.name}"
            for node in facts.nodes
            if node.env is env
            for gpu in node.gpus
            for slot in gpu.slots
            if slot.occupant is not None
            and facts.env_of_namespace(slot.occupant.namespace) is not env
        }
    )
    if squatters:
        problems.append(
            f"non-{env.value} workloads on {env.value} nodes: {', '.join(squatters[:5])}"
        )
    return problems
