"""The state oracles look at: a snapshot of the world before and after the agent ran.

Registry aliases, versions and metadata are read straight from MLflow's SQLite file (one
query each instead of one API call per model); cluster, remediation records and the audit
chain through their own stores. The agent's reported output (incidents, findings, an answer,
a plan) sits beside the world state: oracles check both, never the transcript.
"""

import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from evals.events_world import ServingEventState, serving_state
from evals.queues_world import queue_state
from memory.remediation import DataIncident
from tools.cluster.sim import SimCluster
from tools.registry.alias_history import AliasHistory
from world.settings import Settings
from world.world import World


class AliasMove(BaseModel):
    """One recorded alias move."""

    model: str
    alias: str
    old: int | None
    new: int | None
    actor: str


class DeploymentState(BaseModel):
    """What a deployment serves and how big it is."""

    model: str
    version: int
    replicas: int
    gpu: str
    """GPU request, e.g. `H100-80GB/mig/2g.20gb`."""


class JobState(BaseModel):
    """One cluster job."""

    id: str
    key: str
    kind: str
    namespace: str
    model: str
    status: str
    submitted_at: datetime
    started_at: datetime | None = None
    not_before: datetime | None = None
    """Held until then (carbon-aware or deadline scheduling)."""


class ApprovalState(BaseModel):
    """One approval request."""

    id: str
    action: str
    models: list[str]
    status: str
    proposer: str
    decided_by: str | None = None


class AuditEntry(BaseModel):
    """One audit record, reduced to what oracles compare."""

    kind: str
    actor: str
    model: str | None = None
    incident: str | None = None
    action: str | None = None
    tier: str | None = None


class WorldSnapshot(BaseModel):
    """Everything an agent may change, in comparable form."""

    now: datetime
    aliases: dict[str, dict[str, int]]
    versions: dict[str, int]
    """Number of versions per model."""
    env: dict[str, str]
    risk: dict[str, str]
    descriptions: dict[str, str]
    alias_moves: list[AliasMove]
    deployments: dict[str, DeploymentState]
    """Keyed `namespace/name`."""
    jobs: list[JobState]
    quotas: dict[str, float | None]
    data_incidents: list[DataIncident]
    watched: list[str]
    quarantined: list[str]
    approvals: list[ApprovalState]
    audit: list[AuditEntry]
    audit_ok: bool
    queues: dict[str, str] = Field(default_factory=dict)
    """Kueue ClusterQueue name -> its spec (canonical JSON)."""
    queue_envs: dict[str, str] = Field(default_factory=dict)
    """ClusterQueue name -> the strictest env among the namespaces it serves."""
    serving_config: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Deployment -> its serving configuration as the change events leave it."""
    serving_events: list[ServingEventState] = Field(default_factory=list)
    """Every serving (config/runtime) change, oldest first."""


class ReportedIncident(BaseModel):
    """An incident an agent reported (the monitor's output)."""

    kind: str
    models: list[str]
    features: list[str] = Field(default_factory=list)
    pipeline: str | None = None


class ReportedFinding(BaseModel):
    """A compliance finding an agent reported."""

    policy_id: str
    subject: str
    status: str = "fail"
    message: str = ""


class Answer(BaseModel):
    """A chat answer: text plus the exact entity names it refers to."""

    text: str
    entities: list[str] = Field(default_factory=list)
    proposals: list[str] = Field(default_factory=list)
    """Changes the answer proposes (JSON), never executed by the assistant."""


class AgentOutput(BaseModel):
    """What the agent reported (beside the changes it made to the world)."""

    incidents: list[ReportedIncident] = Field(default_factory=list)
    findings: list[ReportedFinding] = Field(default_factory=list)
    answer: Answer | None = None
    plan: dict[str, float] = Field(default_factory=dict)
    """Numbers of a capacity plan (e.g. `gpus`, `lower_bound`)."""
    verdict: str | None = None
    """A gate's verdict on a proposed action (allow, needs_approval, deny)."""
    scheduled: list[JobState] = Field(default_factory=list)
    """Jobs a planner scheduled (also visible in the world's jobs)."""


class EvalState(BaseModel):
    """What the oracles see: the world before and after, and the agent's output."""

    initial: WorldSnapshot
    final: WorldSnapshot
    output: AgentOutput


def snapshot(data_dir: Path) -> WorldSnapshot:
    """Read the state of the world in a data dir (a world of its own, closed afterwards)."""
    with World(Settings(data_dir=data_dir, cluster="sim", mlflow_uri=None)) as world:
        return _snapshot(world)


def _snapshot(world: World) -> WorldSnapshot:
    files = world.files
    registry = _registry(files.mlflow_db)
    twin, store, audit = world.cluster, world.runs, world.audit
    assert isinstance(twin, SimCluster), "eval worlds run on the twin"
    now = twin.now()
    deployments = {
        f"{d.namespace}/{d.name}": DeploymentState(
            model=d.model,
            version=d.model_version,
            replicas=d.replicas,
            gpu="/".join(
                x for x in (d.gpu.gpu_type.value, d.gpu.sharing.value, d.gpu.mig_profile) if x
            ),
        )
        for d in twin.deployments()
    }
    jobs = [
        JobState(
            id=j.id,
            key=j.spec.idempotency_key,
            kind=j.spec.kind,
            namespace=j.spec.namespace,
            model=j.spec.model,
            status=j.status.value,
            submitted_at=j.submitted_at,
            started_at=j.started_at,
            not_before=j.spec.not_before,
        )
        for j in twin.jobs()
    ]
    quotas = {ns.name: ns.gpu_quota for ns in twin.namespaces()}
    approvals = [
        ApprovalState(
            id=a.id,
            action=a.action,
            models=a.models,
            status=a.status,
            proposer=a.proposer,
            decided_by=a.decided_by,
        )
        for a in world.approvals.requests(now)
    ]
    incidents = store.data_incidents()
    records = audit.records()
    entries = [
        AuditEntry(
            kind=r.kind,
            actor=r.actor,
            model=r.model,
            incident=r.incident,
            action=_str_or_none(r.data.get("action")),
            tier=_str_or_none(r.data.get("tier")),
        )
        for r in records
    ]
    queues, queue_envs = queue_state(twin)
    serving = serving_state(twin, files.cluster_db)
    return WorldSnapshot(
        now=now,
        queues=queues,
        queue_envs=queue_envs,
        deployments=deployments,
        jobs=jobs,
        quotas=quotas,
        data_incidents=incidents,
        watched=store.watched(),
        quarantined=sorted({m for m, _ in store.quarantined()}),
        approvals=approvals,
        audit=entries,
        audit_ok=audit.verify().ok,
        alias_moves=_alias_moves(files.alias_history_db),
        serving_config=serving[0],
        serving_events=serving[1],
        **registry,
    )


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)


def _registry(path: Path) -> dict[str, Any]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        aliases: dict[str, dict[str, int]] = {}
        for name, alias, version in conn.execute(
            "SELECT name, alias, version FROM registered_model_aliases"
        ):
            aliases.setdefault(name, {})[alias] = int(version)
        versions = {
            name: int(n)
            for name, n in conn.execute("SELECT name, count(*) FROM model_versions GROUP BY name")
        }
        tags: dict[str, dict[str, str]] = {}
        for name, key, value in conn.execute(
            "SELECT name, key, value FROM registered_model_tags WHERE key IN ('env', 'ai_act_risk')"
        ):
            tags.setdefault(name, {})[key] = value
        descriptions = {
            name: desc or ""
            for name, desc in conn.execute("SELECT name, description FROM registered_models")
        }
    finally:
        conn.close()
    for name in descriptions:
        aliases.setdefault(name, {})
    return {
        "aliases": aliases,
        "versions": versions,
        "env": {n: t.get("env", "dev") for n, t in tags.items()},
        "risk": {n: t.get("ai_act_risk", "minimal") for n, t in tags.items()},
        "descriptions": descriptions,
    }


def _alias_moves(path: Path) -> list[AliasMove]:
    if not path.exists():
        return []
    history = AliasHistory(path)
    try:
        changes = history.changes()
    finally:
        history.close()
    return [
        AliasMove(model=c.model, alias=c.alias, old=c.old_version, new=c.new_version, actor=c.actor)
        for c in changes
    ]
