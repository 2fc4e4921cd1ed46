"""Kubernetes API objects -> Lotsen domain types."""

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tools.cluster.kubernetes import conventions as c
from tools.domain import (
    GPU_CATALOGUE,
    Deployment,
    Environment,
    Gpu,
    GpuRequest,
    GpuSharing,
    Job,
    JobSpec,
    JobStatus,
    Namespace,
    Node,
    Occupant,
    Placement,
    Slot,
    Taint,
)
from tools.domain.gpus import MIG_COMPUTE_SLICES

logger = logging.getLogger(__name__)


def env_of(labels: dict[str, str] | None, key: str) -> Environment | None:
    """Environment from a label, None if missing or not dev/test/prod."""
    value = (labels or {}).get(key)
    try:
        return Environment(value) if value else None
    except ValueError:
        return None


def to_node(obj: Any, pods: list[Any]) -> Node | None:
    """A GPU node, or None if it has no GPU of a known type or no env label."""
    labels: dict[str, str] = obj.metadata.labels or {}
    name = obj.metadata.name
    gpu_type = c.gpu_type_of(labels.get(c.PRODUCT_LABEL))
    env = env_of(labels, c.ENV_LABEL)
    if gpu_type is None or env is None:
        logger.info("skipping node %s: no known GPU product or no %s label", name, c.ENV_LABEL)
        return None
    capacity: dict[str, str] = obj.status.capacity or {}
    gpus = _gpus(labels, capacity, gpu_type)
    _occupy(gpus, [p for p in pods if p.spec.node_name == name])
    conditions = obj.status.conditions or []
    ready = all(cond.status == "True" for cond in conditions if cond.type == "Ready")
    pool = next((labels[k] for k in c.POOL_LABELS if k in labels), "default")
    taints = [Taint(key=t.key, value=t.value or "", effect=t.effect) for t in obj.spec.taints or []]
    return Node(
        name=name,
        pool=pool,
        env=env,
        ready=ready and not obj.spec.unschedulable,
        labels=labels,
        taints=taints,
        gpus=gpus,
    )


def _gpus(labels: dict[str, str], capacity: dict[str, str], gpu_type: Any) -> list[Gpu]:
    mig = {
        k.removeprefix(c.MIG_RESOURCE_PREFIX): int(v)
        for k, v in capacity.items()
        if k.startswith(c.MIG_RESOURCE_PREFIX)
    }
    replicas = int(labels.get(c.REPLICAS_LABEL, "1") or 1)
    advertised = int(capacity.get(c.GPU_RESOURCE, "0") or 0)
    count = int(labels.get(c.COUNT_LABEL, "0") or 0) or max(advertised // max(replicas, 1), 1)
    gpus = []
    for index in range(count):
        if mig:
            slots = [
                _mig_slot(gpu_type, index, j, profile)
                for j, profile in enumerate(
                    p for p, n in sorted(mig.items()) for _ in range(n // count)
                )
            ]
            gpus.append(Gpu(index=index, type=gpu_type, sharing=GpuSharing.MIG, slots=slots))
        elif replicas > 1:
            slots = [
                Slot(id=f"g{index}-ts{j}", label="shared", equivalents=1 / replicas)
                for j in range(replicas)
            ]
            gpus.append(
                Gpu(index=index, type=gpu_type, sharing=GpuSharing.TIME_SLICED, slots=slots)
            )
        else:
            slots = [Slot(id=f"g{index}", label="whole", equivalents=1.0)]
            gpus.append(Gpu(index=index, type=gpu_type, sharing=GpuSharing.EXCLUSIVE, slots=slots))
    return gpus


def _mig_slot(gpu_type: Any, index: int, j: int, profile: str) -> Slot:
    spec = GPU_CATALOGUE[gpu_type].mig_profile(profile)
    return Slot(
        id=f"g{index}-mig{j}",
        label=f"mig-{profile}",
        equivalents=spec.compute_slices / MIG_COMPUTE_SLICES,
    )


def _occupy(gpus: list[Gpu], pods: list[Any]) -> None:
    """Fill slots with the node's running GPU pods (device ids are not visible via the API)."""
    free = [s for g in gpus for s in g.slots]
    for pod in pods:
        for label in pod_slot_labels(pod):
            slot = next((s for s in free if s.label == label and s.occupant is None), None)
            if slot is None:
                continue
            labels = pod.metadata.labels or {}
            kind = "job" if "job-name" in labels else "deployment"
            name = labels.get("job-name") or labels.get(c.MODEL_LABEL) or pod.metadata.name
            slot.occupant = Occupant(kind=kind, namespace=pod.metadata.namespace, name=name)


def pod_slot_labels(pod: Any) -> list[str]:
    """Slot labels (`whole`, `mig-<profile>`) a pod's containers request."""
    labels = []
    for container in pod.spec.containers:
        for key, value in _requests(container).items():
            if key == c.GPU_RESOURCE:
                labels += ["whole"] * int(value)
            elif key.startswith(c.MIG_RESOURCE_PREFIX):
                labels += [f"mig-{key.removeprefix(c.MIG_RESOURCE_PREFIX)}"] * int(value)
    return labels


def _requests(container: Any) -> dict[str, str]:
    resources = container.resources
    if resources is None:
        return {}
    return dict(resources.limits or resources.requests or {})


@dataclass(frozen=True)
class NamespaceSecurity:
    """Service accounts and network policies of the cluster (API objects)."""

    service_accounts: list[Any]
    network_policies: list[Any]

    def identities(self, namespace: str) -> list[str]:
        """Cloud identities bound to the namespace's service accounts."""
        found = set()
        for sa in self.service_accounts:
            if sa.metadata.namespace == namespace:
                notes: dict[str, str] = sa.metadata.annotations or {}
                found |= {v for k, v in notes.items() if k in c.IDENTITY_ANNOTATIONS and v}
        return sorted(found)

    def ingress(self, namespace: str) -> tuple[bool, list[str]]:
        """(default deny in place, environments or `*` allowed in)."""
        deny, sources = False, set()
        for policy in self.network_policies:
            spec = policy.spec
            if policy.metadata.namespace != namespace or "Ingress" not in (spec.policy_types or []):
                continue
            selects_all = not (spec.pod_selector and spec.pod_selector.match_labels)
            rules = spec.ingress or []
            deny = deny or (selects_all and not rules)
            for rule in rules:
                sources |= {_peer_env(peer) for peer in rule._from} if rule._from else {"*"}
        return deny, sorted(sources)


def _peer_env(peer: Any) -> str:
    selector = getattr(peer, "namespace_selector", None)
    if selector is None:
        return "*" if getattr(peer, "ip_block", None) is not None else "same-namespace"
    labels: dict[str, str] = selector.match_labels or {}
    return labels.get("env", "*")


def to_namespace(obj: Any, quotas: list[Any], security: NamespaceSecurity) -> Namespace:
    """A namespace with its GPU quota (GPU-equivalents), use and security facts."""
    labels: dict[str, str] = obj.metadata.labels or {}
    notes: dict[str, str] = obj.metadata.annotations or {}
    name = obj.metadata.name
    hard = used = 0.0
    has_quota = False
    for quota in quotas:
        if quota.metadata.namespace != name:
            continue
        status = quota.status
        hard_map = (status.hard if status and status.hard else quota.spec.hard) or {}
        used_map = (status.used if status else None) or {}
        if any(_is_gpu_quota_key(k) for k in hard_map):
            has_quota = True
        hard += sum(_equivalents(k, v) for k, v in hard_map.items())
        used += sum(_equivalents(k, v) for k, v in used_map.items())
    deny, sources = security.ingress(name)
    return Namespace(
        name=name,
        env=env_of(labels, "env"),
        owner=labels.get("owner"),
        labels=labels,
        gpu_quota=hard if has_quota else None,
        gpu_used=used,
        identities=security.identities(name),
        network_default_deny=deny,
        ingress_from=[s for s in sources if s != "same-namespace"],
        access_reviewed_at=_timestamp(notes.get(c.ACCESS_REVIEW_ANNOTATION)),
    )


def _timestamp(raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        logger.warning("ignoring unreadable timestamp %r", raw)
        return None


def _is_gpu_quota_key(key: str) -> bool:
    return key.startswith(("requests.nvidia.com/gpu", "requests.nvidia.com/mig-"))


def _equivalents(key: str, value: str) -> float:
    if key == "requests.nvidia.com/gpu":
        return float(value)
    if key.startswith("requests." + c.MIG_RESOURCE_PREFIX):
        compute = int(key.removeprefix("requests." + c.MIG_RESOURCE_PREFIX).split("g.")[0])
        return float(value) * compute / MIG_COMPUTE_SLICES
    return 0.0


def to_deployment(obj: Any, env: Environment | None, pods: list[Any]) -> Deployment | None:
    """A model deployment, or None if it lacks the Lotsen labels or a GPU node selector."""
    meta, spec = obj.metadata, obj.spec
    labels: dict[str, str] = meta.labels or {}
    notes: dict[str, str] = meta.annotations or {}
    selector = spec.template.spec.node_selector or {}
    gpu_type = c.gpu_type_of(selector.get(c.PRODUCT_LABEL))
    if c.MODEL_LABEL not in labels or gpu_type is None or env is None:
        logger.info(
            "skipping deployment %s/%s: not a Lotsen GPU model server", meta.namespace, meta.name
        )
        return None
    slot_labels = pod_slot_labels(spec.template) or ["whole"]
    mig = slot_labels[0].removeprefix("mig-") if slot_labels[0].startswith("mig-") else None
    request = GpuRequest(
        gpu_type=gpu_type, sharing=GpuSharing.MIG if mig else GpuSharing.EXCLUSIVE, mig_profile=mig
    )
    own = [
        p
        for p in pods
        if p.metadata.namespace == meta.namespace
        and (p.metadata.labels or {}).get(c.MODEL_LABEL) == labels[c.MODEL_LABEL]
    ]
    latency = float(notes.get(c.P95_ANNOTATION, 0))
    last = notes.get(c.LAST_REQUEST_ANNOTATION)
    return Deployment(
        namespace=meta.namespace,
        name=meta.name,
        model=labels[c.MODEL_LABEL],
        model_version=int(labels.get(c.VERSION_LABEL, "1")),
        alias=labels.get(c.ALIAS_LABEL, "champion"),
        image=_image(spec.template.spec.containers or []),
        env=env,
        replicas=spec.replicas if spec.replicas is not None else 1,
        gpu=request,
        tolerations=[t.key for t in spec.template.spec.tolerations or [] if t.key],
        requests_per_s=float(notes.get(c.RPS_ANNOTATION, 0)),
        p95_latency_ms=latency,
        base_latency_ms=latency,
        gpu_utilisation=float(notes.get(c.UTILISATION_ANNOTATION, 0)),
        last_request_at=datetime.fromisoformat(last) if last else None,
        placements=[
            Placement(node=p.spec.node_name, gpu_index=-1, slot_id=p.metadata.name)
            for p in own
            if p.spec.node_name
        ],
    )


def _image(containers: list[Any]) -> str:
    """The image of the GPU container (else the first one)."""
    for container in containers:
        limits = (container.resources.limits if container.resources else None) or {}
        if any(k.startswith("nvidia.com/") for k in limits):
            return str(container.image or "")
    return str(containers[0].image or "") if containers else ""


def to_job(obj: Any) -> Job:
    """A Lotsen job from a batch/v1 Job."""
    meta, status = obj.metadata, obj.status
    labels: dict[str, str] = meta.labels or {}
    template = obj.spec.template
    selector = template.spec.node_selector or {}
    slot = (pod_slot_labels(template) or ["whole"])[0]
    mig = slot.removeprefix("mig-") if slot.startswith("mig-") else None
    gpu_type = c.gpu_type_of(selector.get(c.PRODUCT_LABEL)) or next(iter(GPU_CATALOGUE))
    spec = JobSpec(
        namespace=meta.namespace,
        kind=labels.get("lotsen.io/kind", "retrain"),
        model=labels.get(c.MODEL_LABEL, ""),
        gpu=GpuRequest(
            gpu_type=gpu_type,
            sharing=GpuSharing.MIG if mig else GpuSharing.EXCLUSIVE,
            mig_profile=mig,
        ),
        duration_s=float(obj.spec.active_deadline_seconds or 3600),
        idempotency_key=(meta.annotations or {}).get(c.IDEMPOTENCY_ANNOTATION, meta.name),
        tolerations=[t.key for t in template.spec.tolerations or [] if t.key],
    )
    return Job(
        id=f"{meta.namespace}/{meta.name}",
        spec=spec,
        status=_job_status(status),
        submitted_at=meta.creation_timestamp,
        started_at=status.start_time if status else None,
        finished_at=status.completion_time if status else None,
        reason=_failure(status),
    )


def _failure(status: Any) -> str:
    """The Failed condition's reason and message, or ""."""
    for cond in (status.conditions if status else None) or []:
        if cond.type == "Failed" and cond.status == "True":
            return ": ".join(part for part in (cond.reason, cond.message) if part)
    return ""


def _job_status(status: Any) -> JobStatus:
    if status is None:
        return JobStatus.QUEUED
    if status.succeeded:
        return JobStatus.SUCCEEDED
    if any(cond.type == "Failed" and cond.status == "True" for cond in status.conditions or []):
        return JobStatus.FAILED
    return JobStatus.RUNNING if status.active else JobStatus.QUEUED
