"""The Kueue and CronJob part of `KubernetesCluster` (kept apart to keep modules small)."""

from contextlib import AbstractContextManager
from typing import Any

from tools.cluster.kubernetes import kueue as kq
from tools.domain import Job, JobSpec
from tools.domain.cluster import Admission
from tools.domain.queues import (
    ClusterQueue,
    CronSchedule,
    QueueConfig,
    QueuePatch,
    Workload,
    apply_patch,
)

TIMEOUT = (5.0, 30.0)


class KueueMethods:
    """Reads Kueue CRDs and CronJobs; patches ClusterQueues (dry-run first)."""

    _api_client: Any
    _custom: Any
    _batch: Any

    def _api(self, what: str = "object") -> AbstractContextManager[None]:
        raise NotImplementedError

    def queues(self) -> QueueConfig:
        """Kueue's ResourceFlavors, ClusterQueues and LocalQueues (empty without Kueue)."""
        with self._api("Kueue queues"):
            lists = [
                self._kueue_list(p) for p in ("resourceflavors", "clusterqueues", "localqueues")
            ]
        return kq.queue_config(*lists)

    def workloads(self) -> list[Workload]:
        """Kueue Workloads: what each queued job asks for, where admitted, why waiting."""
        with self._api("Kueue workloads"):
            return [kq.to_workload(o) for o in self._kueue_list("workloads")]

    def patch_cluster_queue(
        self, name: str, patch: QueuePatch, *, dry_run: bool = False
    ) -> ClusterQueue:
        """Merge-patch a ClusterQueue: server-side dry-run first, then for real."""
        with self._api(f"ClusterQueue {name}"):
            original = self._custom.get_cluster_custom_object(
                kq.GROUP, kq.VERSION, "clusterqueues", name, _request_timeout=TIMEOUT
            )
            patched = apply_patch(kq.to_cluster_queue(original), patch)
            body = kq.patch_body(original, patched)
            for run in ("All", None) if not dry_run else ("All",):
                self._custom.patch_cluster_custom_object(
                    kq.GROUP,
                    kq.VERSION,
                    "clusterqueues",
                    name,
                    body,
                    dry_run=run,
                    _content_type=kq.MERGE_PATCH,
                    _request_timeout=TIMEOUT,
                )
        return patched

    def schedules(self, namespace: str | None = None) -> list[CronSchedule]:
        """CronJobs with their schedule, suspension and GPU requests."""
        with self._api("cronjobs"):
            raw = self._batch.list_cron_job_for_all_namespaces(_request_timeout=TIMEOUT).items
        plain = [self._api_client.sanitize_for_serialization(o) for o in raw]
        found = [kq.to_schedule(o) for o in plain]
        return [s for s in found if namespace is None or s.namespace == namespace]

    def _with_local_queue(self, spec: JobSpec) -> JobSpec:
        """The spec with its namespace's LocalQueue (`default`, or the only one) if unset."""
        if spec.queue_name is not None:
            return spec
        lq = self.queues().local_queue(spec.namespace, None)
        return spec if lq is None else spec.model_copy(update={"queue_name": lq.name})

    def _with_admission(self, jobs: list[Job]) -> list[Job]:
        """Jobs with their Kueue Workload's queue, priority, admission or wait reason."""
        by_job = {f"{w.namespace}/{w.job}": w for w in self.workloads() if w.job}
        out = []
        for job in jobs:
            w = by_job.get(job.id)
            if w is None:
                out.append(job)
                continue
            spec = job.spec.model_copy(update={"queue_name": w.queue_name, "priority": w.priority})
            admission = None
            resource = next(iter(w.resources), None)
            if w.admitted and w.cluster_queue and w.flavor and resource:
                admission = Admission(
                    local_queue=w.queue_name,
                    cluster_queue=w.cluster_queue,
                    flavor=w.flavor,
                    resource=resource,
                    amount=w.resources[resource],
                    admitted_at=w.created_at or job.submitted_at,
                )
            reason = job.reason or w.reason
            out.append(
                job.model_copy(update={"spec": spec, "admission": admission, "reason": reason})
            )
        return out

    def _kueue_list(self, plural: str) -> list[dict[str, Any]]:
        from kubernetes.client.exceptions import ApiException

        try:
            answer = self._custom.list_cluster_custom_object(
                kq.GROUP, kq.VERSION, plural, _request_timeout=TIMEOUT
            )
        except ApiException as exc:
            if exc.status == 404:  # Kueue not installed: no queues
                return []
            raise
        return list(answer.get("items") or [])
