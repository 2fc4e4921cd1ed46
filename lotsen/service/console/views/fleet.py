"""The fleet and GPU pool views: models with their deployments, pools with their use."""

from collections import Counter

from pydantic import BaseModel

from memory.approvals import ApprovalRequest
from memory.incidents import IncidentRecord
from tools.domain.cluster import Deployment, PoolUsage
from tools.domain.models import RegisteredModel
from tools.policy.evaluate import Finding
from tools.registry import CHAMPION
from world.incidents import incident_store
from world.world import World


class ModelRow(BaseModel):
    """One registered model as the fleet page lists it."""

    name: str
    owner: str
    env: str
    """The env tag, or `unknown` (then treated as prod)."""
    risk: str
    pipeline: str
    champion: int | None
    deployments: list[str]
    """`namespace/name` of its deployments."""
    replicas: int
    requests_per_s: float
    open_incidents: int


class FleetView(BaseModel):
    """The fleet page: every model, with counts per environment."""

    models: list[ModelRow]
    by_env: dict[str, int]


class PoolView(BaseModel):
    """One node pool: allocation vs use, and what it holds."""

    usage: PoolUsage
    nodes: list[str]
    deployments: int
    utilisation: float | None
    """Busy over capacity (None without a metrics source)."""


def fleet_view(world: World, env: str | None = None, query: str | None = None) -> FleetView:
    """Every model (optionally of one env, or whose name/owner contains `query`)."""
    deployments: dict[str, list[tuple[str, int, float]]] = {}
    for d in world.cluster.deployments():
        deployments.setdefault(d.model, []).append(
            (f"{d.namespace}/{d.name}", d.replicas, d.requests_per_s)
        )
    incidents = _open_incidents(world)
    rows = []
    for m in world.registry.list_models():
        deps = deployments.get(m.name, [])
        rows.append(
            ModelRow(
                name=m.name,
                owner=m.owner,
                env=m.env.value if m.env is not None else "unknown",
                risk=m.ai_act_risk.value if m.ai_act_risk is not None else "unknown",
                pipeline=m.pipeline,
                champion=m.aliases.get(CHAMPION),
                deployments=[name for name, _, _ in deps],
                replicas=sum(r for _, r, _ in deps),
                requests_per_s=sum(rps for _, _, rps in deps),
                open_incidents=incidents[m.name],
            )
        )
    by_env = Counter(r.env for r in rows)
    if env:
        rows = [r for r in rows if r.env == env]
    if query:
        needle = query.casefold()
        rows = [r for r in rows if needle in r.name.casefold() or needle in r.owner.casefold()]
    return FleetView(models=rows, by_env=dict(sorted(by_env.items())))


def _open_incidents(world: World) -> Counter[str]:
    store = incident_store(world)
    counts: Counter[str] = Counter()
    if store is None:
        return counts
    for record in store.occurrences():
        if record.status in ("open", "acknowledged", "remediating"):
            counts.update(record.models)
    return counts


def pool_views(world: World) -> list[PoolView]:
    """Every node pool with its nodes and the deployments placed on it."""
    nodes: dict[str, list[str]] = {}
    node_pool: dict[str, str] = {}
    for node in world.cluster.nodes():
        nodes.setdefault(node.pool, []).append(node.name)
        node_pool[node.name] = node.pool
    placed: Counter[str] = Counter()
    for d in world.cluster.deployments():
        for pool in {node_pool.get(p.node, "") for p in d.placements}:
            placed[pool] += 1
    views = []
    for usage in world.cluster.pool_usage():
        util = (
            usage.busy / usage.capacity if usage.busy is not None and usage.capacity > 0 else None
        )
        views.append(
            PoolView(
                usage=usage,
                nodes=sorted(nodes.get(usage.pool, [])),
                deployments=placed[usage.pool],
                utilisation=util,
            )
        )
    return views


class ModelPage(BaseModel):
    """One model: its registry entry, deployments, incidents, requests and findings."""

    model: RegisteredModel
    deployments: list[Deployment]
    incidents: list[IncidentRecord]
    approvals: list[ApprovalRequest]
    findings: list[Finding]
    """Compliance findings about the model and its deployments, failing first."""


def model_page(world: World, name: str) -> ModelPage:
    """Everything the console knows about one model.

    Raises:
        NotFoundError: no such model in the registry.
    """
    from world.compliance import scan

    model = world.registry.get_model(name)
    store = incident_store(world)
    incidents = [r for r in store.occurrences() if name in r.models] if store else []
    approvals = []
    if world.state.approvals_db.exists():
        approvals = [r for r in world.approvals.requests(world.clock()) if name in r.models]
    findings = sorted(scan(world, name).findings, key=lambda f: (f.status == "pass", f.policy_id))
    return ModelPage(
        model=model,
        deployments=[d for d in world.cluster.deployments() if d.model == name],
        incidents=sorted(incidents, key=lambda r: r.last_seen, reverse=True),
        approvals=list(reversed(approvals)),
        findings=findings,
    )
