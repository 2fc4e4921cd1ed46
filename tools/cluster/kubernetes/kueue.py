"""Kueue CRDs and CronJobs from a Kubernetes cluster, as Lotsen's queue and schedule types.

Reads `kueue.x-k8s.io/v1beta1` ResourceFlavor, ClusterQueue, LocalQueue and Workload
through the CustomObjectsApi (a cluster without Kueue reads as no queues), and
`batch/v1` CronJobs. Only GPU resources (`nvidia.com/gpu`, `nvidia.com/mig-*`) are kept:
CPU and memory quota do not decide GPU capacity. A ClusterQueue patch is a JSON merge
patch of the whole `preemption` and `resourceGroups`, dry-run first.
"""

import re
from datetime import datetime
from typing import Any

from tools.cluster.kubernetes import conventions as c
from tools.domain import GpuRequest, GpuSharing
from tools.domain.queues import (
    BorrowPolicy,
    BorrowWithinCohort,
    ClusterQueue,
    CronSchedule,
    FlavorQuota,
    LocalQueue,
    Preemption,
    QueueConfig,
    ReclaimPolicy,
    ResourceFlavor,
    WithinQueuePolicy,
    Workload,
)

GROUP, VERSION = "kueue.x-k8s.io", "v1beta1"
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
"""Job label naming the LocalQueue it is submitted to."""
USES_ANNOTATION = "lotsen.io/uses"
"""CronJob annotation: comma-separated `namespace/deployment` each run calls."""
MERGE_PATCH = "application/merge-patch+json"
_SUFFIX = {"m": 1e-3, "k": 1e3, "Ki": 1024.0, "M": 1e6, "Mi": 1024.0**2}
Obj = dict[str, Any]


def quantity(raw: object) -> float:
    """A Kubernetes quantity (`8`, `500m`, `2k`) as a number."""
    text = str(raw).strip()
    match = re.fullmatch(r"([0-9.]+)([a-zA-Z]*)", text)
    if match is None or match[2] not in ("", *_SUFFIX):
        raise ValueError(f"not a quantity: {text!r}")
    return float(match[1]) * _SUFFIX.get(match[2], 1.0)


def is_gpu_resource(name: str) -> bool:
    """True for the NVIDIA device plugin's resources."""
    return name == c.GPU_RESOURCE or name.startswith(c.MIG_RESOURCE_PREFIX)


def to_flavor(obj: Obj) -> ResourceFlavor:
    """A ResourceFlavor object."""
    spec = obj.get("spec") or {}
    return ResourceFlavor(name=obj["metadata"]["name"], node_labels=spec.get("nodeLabels") or {})


def to_cluster_queue(obj: Obj) -> ClusterQueue:
    """A ClusterQueue object (v1beta1 `cohort`, v1beta2 `cohortName`)."""
    spec = obj.get("spec") or {}
    quotas = []
    for group in spec.get("resourceGroups") or []:
        for flavor in group.get("flavors") or []:
            for res in flavor.get("resources") or []:
                if not is_gpu_resource(res["name"]):
                    continue
                quotas.append(
                    FlavorQuota(
                        flavor=flavor["name"],
                        resource=res["name"],
                        nominal=quantity(res.get("nominalQuota", 0)),
                        borrowing_limit=_optional(res.get("borrowingLimit")),
                        lending_limit=_optional(res.get("lendingLimit")),
                    )
                )
    raw = spec.get("preemption") or {}
    borrow = raw.get("borrowWithinCohort") or {}
    preemption = Preemption(
        reclaim_within_cohort=ReclaimPolicy(raw.get("reclaimWithinCohort", "Never")),
        within_cluster_queue=WithinQueuePolicy(raw.get("withinClusterQueue", "Never")),
        borrow_within_cohort=BorrowWithinCohort(
            policy=BorrowPolicy(borrow.get("policy", "Never")),
            max_priority_threshold=borrow.get("maxPriorityThreshold"),
        ),
    )
    return ClusterQueue(
        name=obj["metadata"]["name"],
        cohort=spec.get("cohort") or spec.get("cohortName"),
        quotas=quotas,
        preemption=preemption,
        stop_policy=spec.get("stopPolicy") or "None",
        namespace_selector=(spec.get("namespaceSelector") or {}).get("matchLabels"),
    )


def to_local_queue(obj: Obj) -> LocalQueue:
    """A LocalQueue object."""
    meta = obj["metadata"]
    return LocalQueue(
        namespace=meta["namespace"], name=meta["name"], cluster_queue=obj["spec"]["clusterQueue"]
    )


def to_workload(obj: Obj) -> Workload:
    """A Workload object: what it asks for, where it was admitted, or why it waits."""
    meta, spec, status = obj["metadata"], obj.get("spec") or {}, obj.get("status") or {}
    wanted: dict[str, float] = {}
    for pod_set in spec.get("podSets") or []:
        count = int(pod_set.get("count", 1))
        pod = (pod_set.get("template") or {}).get("spec") or {}
        for container in pod.get("containers") or []:
            resources = container.get("resources") or {}
            asks = {**(resources.get("limits") or {}), **(resources.get("requests") or {})}
            for name, value in asks.items():
                if is_gpu_resource(name):
                    wanted[name] = wanted.get(name, 0.0) + quantity(value) * count
    admission = status.get("admission") or {}
    flavors: dict[str, str] = {}
    for assignment in admission.get("podSetAssignments") or []:
        flavors.update(assignment.get("flavors") or {})
    conditions = {cond["type"]: cond for cond in status.get("conditions") or []}
    reserved = conditions.get("QuotaReserved") or {}
    admitted = (conditions.get("Admitted") or reserved).get("status") == "True"
    created = meta.get("creationTimestamp")
    return Workload(
        namespace=meta["namespace"],
        name=meta["name"],
        queue_name=spec.get("queueName", ""),
        priority=int(spec.get("priority") or 0),
        admitted=admitted,
        cluster_queue=admission.get("clusterQueue"),
        flavor=next((flavors[r] for r in wanted if r in flavors), None),
        resources=wanted,
        reason="" if admitted else str(reserved.get("message") or ""),
        created_at=datetime.fromisoformat(created.replace("Z", "+00:00")) if created else None,
        job=next(
            (o["name"] for o in meta.get("ownerReferences") or [] if o.get("kind") == "Job"),
            None,
        ),
    )


def to_schedule(obj: Obj) -> CronSchedule:
    """A batch/v1 CronJob (as plain JSON, camelCase keys)."""
    meta, spec = obj["metadata"], obj.get("spec") or {}
    job = (spec.get("jobTemplate") or {}).get("spec") or {}
    pod = (job.get("template") or {}).get("spec") or {}
    gpus, resource = 0, None
    for container in pod.get("containers") or []:
        resources = container.get("resources") or {}
        for name, value in {
            **(resources.get("requests") or {}),
            **(resources.get("limits") or {}),
        }.items():
            if is_gpu_resource(name):
                resource, gpus = name, max(gpus, int(quantity(value)))
    pods = int(job.get("parallelism") or 1)
    gpu_type = c.gpu_type_of((pod.get("nodeSelector") or {}).get(c.PRODUCT_LABEL))
    request = None
    if resource is not None and gpu_type is not None:
        mig = resource.removeprefix(c.MIG_RESOURCE_PREFIX) if resource != c.GPU_RESOURCE else None
        request = GpuRequest(
            gpu_type=gpu_type,
            sharing=GpuSharing.MIG if mig else GpuSharing.EXCLUSIVE,
            mig_profile=mig,
        )
    uses = (meta.get("annotations") or {}).get(USES_ANNOTATION, "")
    return CronSchedule(
        namespace=meta["namespace"],
        name=meta["name"],
        schedule=spec["schedule"],
        suspend=bool(spec.get("suspend", False)),
        time_zone=spec.get("timeZone"),
        gpu=request,
        gpus=gpus * pods,
        duration_s=float(job.get("activeDeadlineSeconds") or 3600),
        uses=[u.strip() for u in uses.split(",") if u.strip()],
        tolerations=[t["key"] for t in pod.get("tolerations") or [] if t.get("key")],
    )


def queue_config(flavors: list[Obj], cqs: list[Obj], lqs: list[Obj]) -> QueueConfig:
    """The Kueue objects of a cluster."""
    return QueueConfig(
        flavors=[to_flavor(o) for o in flavors],
        cluster_queues=[to_cluster_queue(o) for o in cqs],
        local_queues=[to_local_queue(o) for o in lqs],
    )


def patch_body(original: Obj, patched: ClusterQueue) -> Obj:
    """A merge patch setting the ClusterQueue's preemption and GPU limits as in `patched`."""
    spec = original.get("spec") or {}
    groups = []
    for group in spec.get("resourceGroups") or []:
        flavors = []
        for flavor in group.get("flavors") or []:
            resources = []
            for res in flavor.get("resources") or []:
                quota = patched.quota(flavor["name"], res["name"])
                res = dict(res)
                if quota is not None:
                    for key, value in (
                        ("borrowingLimit", quota.borrowing_limit),
                        ("lendingLimit", quota.lending_limit),
                    ):
                        if value is None:
                            res.pop(key, None)
                        else:
                            res[key] = f"{value:g}"
                resources.append(res)
            flavors.append({**flavor, "resources": resources})
        groups.append({**group, "flavors": flavors})
    p = patched.preemption
    preemption: Obj = {
        "reclaimWithinCohort": p.reclaim_within_cohort.value,
        "withinClusterQueue": p.within_cluster_queue.value,
    }
    if p.borrow_within_cohort.policy is not BorrowPolicy.NEVER:
        preemption["borrowWithinCohort"] = {
            "policy": p.borrow_within_cohort.policy.value,
            "maxPriorityThreshold": p.borrow_within_cohort.max_priority_threshold,
        }
    return {"spec": {"preemption": preemption, "resourceGroups": groups}}


def _optional(raw: object) -> float | None:
    return None if raw is None else quantity(raw)
