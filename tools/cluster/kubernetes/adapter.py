"""`KubernetesCluster`: the `Cluster` protocol over the official Kubernetes client.

Reads nodes, namespaces, quotas, pods, deployments and jobs. Every write is sent with
server-side dry-run first (`dryRun=All`), and only if the API server accepts it, for real.
"""

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tools.cluster.kubernetes import conventions as c
from tools.cluster.kubernetes import kueue as kq
from tools.cluster.kubernetes.convert import (
    NamespaceSecurity,
    env_of,
    to_deployment,
    to_job,
    to_namespace,
    to_node,
)
from tools.cluster.kubernetes.kueue_methods import KueueMethods
from tools.cluster.sim.capacity_ops import check_request
from tools.domain import (
    Deployment,
    Environment,
    GpuRequest,
    GpuSharing,
    Job,
    JobSpec,
    Namespace,
    Node,
    NodePool,
    PoolUsage,
)
from tools.errors import BackendUnavailableError, ConfigError, ConflictError, NotFoundError

TIMEOUT = (5.0, 30.0)
"""(connect, read) seconds for every API call."""


@dataclass(frozen=True)
class TrainingContainer:
    """What a training job runs: the model team's image, command and environment."""

    image: str
    command: list[str] = field(default_factory=list)
    """Entrypoint and arguments; empty = the image's own entrypoint."""
    env: dict[str, str] = field(default_factory=dict)


class KubernetesCluster(KueueMethods):
    """A live cluster through the Kubernetes API."""

    def __init__(self, api_client: Any, *, trainer_image: str) -> None:
        """Use an authenticated `kubernetes.client.ApiClient`.

        Args:
            api_client: Client configured for the API server.
            trainer_image: Image run by retraining jobs.
        """
        from kubernetes import client

        self._api_client = api_client
        self._host = api_client.configuration.host
        self._core = client.CoreV1Api(api_client)
        self._apps = client.AppsV1Api(api_client)
        self._batch = client.BatchV1Api(api_client)
        self._networking = client.NetworkingV1Api(api_client)
        self._custom = client.CustomObjectsApi(api_client)
        self._trainer_image = trainer_image

    def close(self) -> None:
        """Close the API client's connection pool."""
        self._api_client.close()

    def now(self) -> datetime:
        """Wall-clock time (the cluster has no virtual clock)."""
        return datetime.now(UTC)

    def nodes(self, env: Environment | None = None) -> list[Node]:
        """GPU nodes with a known GPU product and an env label."""
        with self._api():
            raw = self._core.list_node(_request_timeout=TIMEOUT).items
            pods = self._running_pods()
        found = [n for n in (to_node(obj, pods) for obj in raw) if n is not None]
        return [n for n in found if env is None or n.env is env]

    def node_pools(self) -> list[NodePool]:
        """Pools inferred from node labels (one entry per pool label value)."""
        pools: dict[str, NodePool] = {}
        for node in self.nodes():
            if node.pool in pools or not node.gpus:
                continue
            gpu = node.gpus[0]
            layout = tuple(
                s.label.removeprefix("mig-") for s in gpu.slots if s.label.startswith("mig-")
            )
            pools[node.pool] = NodePool(
                name=node.pool,
                env=node.env,
                gpu_type=gpu.type,
                gpus_per_node=len(node.gpus),
                sharing=gpu.sharing,
                mig_layout=layout,
                time_slice_replicas=len(gpu.slots),
                taints=node.taints,
            )
        return list(pools.values())

    def namespaces(self) -> list[Namespace]:
        """Namespaces with env/owner labels and GPU quota."""
        with self._api():
            raw = self._core.list_namespace(_request_timeout=TIMEOUT).items
            quotas = self._core.list_resource_quota_for_all_namespaces(
                _request_timeout=TIMEOUT
            ).items
            security = self._security()
        return [to_namespace(obj, quotas, security) for obj in raw]

    def _security(self) -> NamespaceSecurity:
        """Service accounts and network policies of all namespaces (compliance facts)."""
        accounts = self._core.list_service_account_for_all_namespaces(_request_timeout=TIMEOUT)
        policies = self._networking.list_network_policy_for_all_namespaces(_request_timeout=TIMEOUT)
        return NamespaceSecurity(accounts.items, policies.items)

    def namespace(self, name: str) -> Namespace:
        """One namespace."""
        with self._api(f"namespace {name!r}"):
            obj = self._core.read_namespace(name, _request_timeout=TIMEOUT)
            quotas = self._core.list_resource_quota_for_all_namespaces(
                _request_timeout=TIMEOUT
            ).items
            security = self._security()
        return to_namespace(obj, quotas, security)

    def deployments(self, namespace: str | None = None) -> list[Deployment]:
        """Deployments labelled as Lotsen model servers."""
        with self._api():
            spaces: list[Any] = self._core.list_namespace(_request_timeout=TIMEOUT).items
        envs = {obj.metadata.name: env_of(obj.metadata.labels, "env") for obj in spaces}
        if namespace is not None and namespace not in envs:
            raise NotFoundError(f"unknown namespace {namespace!r}")
        with self._api():
            raw: list[Any] = self._apps.list_deployment_for_all_namespaces(
                label_selector=c.MODEL_LABEL, _request_timeout=TIMEOUT
            ).items
            pods = self._running_pods()
        found = [
            to_deployment(obj, envs.get(obj.metadata.namespace), pods)
            for obj in raw
            if namespace is None or obj.metadata.namespace == namespace
        ]
        return [d for d in found if d is not None]

    def deployment(self, namespace: str, name: str) -> Deployment:
        """One model deployment."""
        with self._api(f"namespace {namespace!r}"):
            space: Any = self._core.read_namespace(namespace, _request_timeout=TIMEOUT)
        env = env_of(space.metadata.labels, "env")
        with self._api(f"deployment {namespace}/{name}"):
            obj = self._apps.read_namespaced_deployment(name, namespace, _request_timeout=TIMEOUT)
            pods = self._running_pods()
        dep = to_deployment(obj, env, pods)
        if dep is None:
            raise NotFoundError(
                f"{namespace}/{name} is not a Lotsen model deployment "
                f"(needs the {c.MODEL_LABEL} label and a GPU node selector)"
            )
        return dep

    def scale(
        self, namespace: str, name: str, replicas: int, *, dry_run: bool = False
    ) -> Deployment:
        """Scale via the scale subresource: dry-run first, then for real."""
        if replicas < 0:
            raise ConfigError(f"replicas must be >= 0, got {replicas}")
        body = {"spec": {"replicas": replicas}}
        with self._api(f"deployment {namespace}/{name}"):
            self._apps.patch_namespaced_deployment_scale(
                name, namespace, body, dry_run="All", _request_timeout=TIMEOUT
            )
            if dry_run:
                return self.deployment(namespace, name).model_copy(update={"replicas": replicas})
            self._apps.patch_namespaced_deployment_scale(
                name, namespace, body, _request_timeout=TIMEOUT
            )
        return self.deployment(namespace, name)

    def set_model_version(
        self, namespace: str, name: str, version: int, *, dry_run: bool = False
    ) -> Deployment:
        """Patch the version label on the deployment and its pods (triggers a rollout)."""
        if version < 1:
            raise ConfigError(f"model versions start at 1, got {version}")
        labels = {c.VERSION_LABEL: str(version)}
        body = {
            "metadata": {"labels": labels},
            "spec": {"template": {"metadata": {"labels": labels}}},
        }
        with self._api(f"deployment {namespace}/{name}"):
            self._apps.patch_namespaced_deployment(
                name, namespace, body, dry_run="All", _request_timeout=TIMEOUT
            )
            if dry_run:
                return self.deployment(namespace, name).model_copy(
                    update={"model_version": version}
                )
            self._apps.patch_namespaced_deployment(name, namespace, body, _request_timeout=TIMEOUT)
        return self.deployment(namespace, name)

    def resize(
        self, namespace: str, name: str, gpu: GpuRequest, *, dry_run: bool = False
    ) -> Deployment:
        """Patch the model server's GPU resource limit (e.g. `nvidia.com/mig-1g.10gb`).

        Dry-run first; the rollout then re-schedules the pods onto slots of the new kind.
        """
        check_request(gpu)
        if gpu.sharing is GpuSharing.TIME_SLICED:
            raise ConfigError("resizing onto time-sliced GPUs is not supported on Kubernetes")
        resource = (
            f"{c.MIG_RESOURCE_PREFIX}{gpu.mig_profile}" if gpu.mig_profile else c.GPU_RESOURCE
        )
        with self._api(f"deployment {namespace}/{name}"):
            obj = self._apps.read_namespaced_deployment(name, namespace, _request_timeout=TIMEOUT)
            pod_spec = obj.spec.template.spec if obj.spec else None
            containers = (pod_spec.containers if pod_spec else None) or []
            target = next((ct for ct in containers if _gpu_limits(ct)), None)
            if target is None:
                raise ConflictError(f"{namespace}/{name} has no container with a GPU limit")
            limits: dict[str, str | None] = dict.fromkeys(_gpu_limits(target))
            limits[resource] = "1"
            body = {
                "spec": {
                    "template": {
                        "spec": {
                            "nodeSelector": {c.PRODUCT_LABEL: gpu.gpu_type.value},
                            "containers": [{"name": target.name, "resources": {"limits": limits}}],
                        }
                    }
                }
            }
            self._apps.patch_namespaced_deployment(
                name, namespace, body, dry_run="All", _request_timeout=TIMEOUT
            )
            if dry_run:
                return self.deployment(namespace, name).model_copy(update={"gpu": gpu})
            self._apps.patch_namespaced_deployment(name, namespace, body, _request_timeout=TIMEOUT)
        return self.deployment(namespace, name)

    def move_replica(
        self,
        namespace: str,
        name: str,
        replica: int,
        node: str,
        gpu_index: int,
        *,
        dry_run: bool = False,
    ) -> Deployment:
        """Not on Kubernetes: its scheduler places pods (cordon + evict drains a node)."""
        raise ConfigError(
            "moving a single replica is not supported on Kubernetes: the scheduler places "
            "pods; drain the GPU's node instead (kubectl cordon + evict)"
        )

    def defer_job(self, job_id: str, not_before: datetime | None, *, dry_run: bool = False) -> Job:
        """Not on Kubernetes yet: batch/v1 Jobs have no start time (Kueue would be needed)."""
        raise ConfigError(
            "holding a job until a time window is not supported on Kubernetes yet; "
            "submit it at the window instead"
        )

    def submit_job(self, spec: JobSpec, *, dry_run: bool = False) -> Job:
        """Create a batch/v1 Job named after the idempotency key (so a retry finds it)."""
        return self.submit_training_job(spec, None, dry_run=dry_run)

    def submit_training_job(
        self, spec: JobSpec, container: TrainingContainer | None, *, dry_run: bool = False
    ) -> Job:
        """Create a Job running `container` (None: the configured trainer image); idempotent."""
        from kubernetes.client import V1Job
        from kubernetes.client.exceptions import ApiException

        spec = self._with_local_queue(spec)
        raw = self._job_body(spec, container)
        name = raw["metadata"]["name"]
        body = V1Job.from_dict(raw)
        assert body is not None

        with self._api(f"namespace {spec.namespace!r}"):
            try:
                self._batch.create_namespaced_job(
                    spec.namespace, body, dry_run="All", _request_timeout=TIMEOUT
                )
                if dry_run:
                    raw["metadata"].update(
                        namespace=spec.namespace, creationTimestamp=self.now().isoformat()
                    )
                    return to_job(V1Job.from_dict(raw))
                self._batch.create_namespaced_job(spec.namespace, body, _request_timeout=TIMEOUT)
            except ApiException as exc:
                if exc.status != 409:
                    raise
            obj = self._batch.read_namespaced_job(name, spec.namespace, _request_timeout=TIMEOUT)
        return to_job(obj)

    def jobs(self, namespace: str | None = None) -> list[Job]:
        """Jobs created by Lotsen, oldest first."""
        selector = f"{c.MANAGED_LABEL}=true"
        with self._api():
            if namespace is None:
                raw = self._batch.list_job_for_all_namespaces(
                    label_selector=selector, _request_timeout=TIMEOUT
                ).items
            else:
                raw = self._batch.list_namespaced_job(
                    namespace, label_selector=selector, _request_timeout=TIMEOUT
                ).items
        return self._with_admission(sorted((to_job(o) for o in raw), key=lambda j: j.submitted_at))

    def job(self, job_id: str) -> Job:
        """One job by `namespace/name`."""
        namespace, _, name = job_id.partition("/")
        if not name:
            raise ConfigError(f"job ids on Kubernetes are namespace/name, got {job_id!r}")
        with self._api(f"job {job_id}"):
            return to_job(
                self._batch.read_namespaced_job(name, namespace, _request_timeout=TIMEOUT)
            )

    def pool_usage(self) -> list[PoolUsage]:
        """Allocation per pool from running pods; use and power need a metrics source."""
        usage: dict[str, PoolUsage] = {}
        for node in self.nodes():
            row = usage.get(node.pool) or PoolUsage(
                pool=node.pool,
                env=node.env,
                gpu_type=node.gpus[0].type,
                nodes_ready=0,
                nodes_total=0,
                gpus=0,
                allocated=0.0,
                capacity=0.0,
                busy=None,
                power_w=None,
                energy_kwh=None,
            )
            row.nodes_total += 1
            if node.ready:
                row.nodes_ready += 1
                row.gpus += len(node.gpus)
                row.capacity += sum(s.equivalents for g in node.gpus for s in g.slots)
                row.allocated += sum(g.allocated() for g in node.gpus)
            usage[node.pool] = row
        return list(usage.values())

    def _running_pods(self) -> list[Any]:
        return list(
            self._core.list_pod_for_all_namespaces(
                field_selector="status.phase=Running", _request_timeout=TIMEOUT
            ).items
        )

    def _job_body(self, spec: JobSpec, container: TrainingContainer | None) -> dict[str, Any]:
        digest = hashlib.sha256(spec.idempotency_key.encode()).hexdigest()[:10]
        name = re.sub(r"[^a-z0-9-]", "-", f"lotsen-{spec.kind}-{spec.model}".lower())[:50].strip(
            "-"
        )
        resource = (
            f"{c.MIG_RESOURCE_PREFIX}{spec.gpu.mig_profile}"
            if spec.gpu.mig_profile
            else c.GPU_RESOURCE
        )
        labels = {c.MANAGED_LABEL: "true", c.MODEL_LABEL: spec.model, "lotsen.io/kind": spec.kind}
        if spec.queue_name:
            labels[kq.QUEUE_LABEL] = spec.queue_name
        return {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {
                "name": f"{name}-{digest}",
                "labels": labels,
                "annotations": {c.IDEMPOTENCY_ANNOTATION: spec.idempotency_key},
            },
            "spec": {
                "backoffLimit": 2,
                "activeDeadlineSeconds": int(spec.duration_s),
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "restartPolicy": "Never",
                        "nodeSelector": {c.PRODUCT_LABEL: spec.gpu.gpu_type.value},
                        "tolerations": [{"key": k, "operator": "Exists"} for k in spec.tolerations],
                        "containers": [
                            {
                                "name": "trainer",
                                **_container(spec, container, self._trainer_image),
                                "resources": {"limits": {resource: "1"}},
                            }
                        ],
                    },
                },
            },
        }

    @contextmanager
    def _api(self, what: str = "object") -> Iterator[None]:
        """Translate client errors into Lotsen's, naming what was asked for."""
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        try:
            yield
        except ApiException as exc:
            raise _translate(exc, what) from exc
        except HTTPError as exc:
            raise BackendUnavailableError(
                f"cannot reach the Kubernetes API at {self._host} ({type(exc).__name__}); "
                "check LOTSEN_KUBE_API_URL or your kubeconfig"
            ) from exc


def _container(
    spec: JobSpec, container: TrainingContainer | None, default_image: str
) -> dict[str, Any]:
    """Image, command and environment of the job's container."""
    if container is None:
        return {"image": default_image, "args": ["--model", spec.model, "--kind", spec.kind]}
    body: dict[str, Any] = {
        "image": container.image,
        "env": [{"name": k, "value": v} for k, v in sorted(container.env.items())],
    }
    if container.command:
        body["command"] = container.command
    return body


def _translate(exc: Any, what: str) -> Exception:
    status, reason = exc.status, exc.reason
    if status == 404:
        return NotFoundError(f"{what} not found on the cluster")
    if status in (401, 403):
        return ConfigError(
            f"the Kubernetes API refused access ({status} {reason}); "
            "check LOTSEN_KUBE_TOKEN / kubeconfig and RBAC"
        )
    if status in (409, 422):
        return ConflictError(f"the Kubernetes API rejected the change to {what}: {reason}")
    return BackendUnavailableError(f"Kubernetes API error {status} {reason} for {what}")


def _gpu_limits(container: Any) -> list[str]:
    """GPU resource names (`nvidia.com/gpu`, `nvidia.com/mig-*`) a container is limited to."""
    resources = container.resources
    limits = dict((resources.limits or {}) if resources is not None else {})
    return [k for k in limits if k == c.GPU_RESOURCE or k.startswith(c.MIG_RESOURCE_PREFIX)]
