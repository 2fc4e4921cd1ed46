"""A small Kubernetes API server for tests: API-shaped JSON over real HTTP.

It serves the few endpoints `KubernetesCluster` uses, keeps objects in memory, honours
`dryRun=All` (validate, answer, persist nothing) and records every request so tests can
assert, for example, that a write was dry-run first.
"""

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

Obj = dict[str, Any]


@dataclass
class Request:
    """One request the stub received."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any = None

    @property
    def dry_run(self) -> bool:
        """True if sent with dryRun=All."""
        return self.query.get("dryRun") == ["All"]


@dataclass
class KubeState:
    """Objects served by the stub."""

    nodes: list[Obj] = field(default_factory=list)
    namespaces: list[Obj] = field(default_factory=list)
    quotas: list[Obj] = field(default_factory=list)
    pods: list[Obj] = field(default_factory=list)
    deployments: list[Obj] = field(default_factory=list)
    jobs: list[Obj] = field(default_factory=list)
    service_accounts: list[Obj] = field(default_factory=list)
    network_policies: list[Obj] = field(default_factory=list)
    custom: dict[str, list[Obj]] = field(default_factory=dict)
    """Extra collections by list path (Kueue CRDs, CronJobs), e.g.
    `/apis/kueue.x-k8s.io/v1beta1/clusterqueues`; items are read and merge-patched by name."""
    requests: list[Request] = field(default_factory=list)
    token: str | None = None
    """If set, requests must carry `Authorization: Bearer <token>`."""


def _status(code: int, reason: str, message: str) -> Obj:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def _list(kind: str, items: list[Obj]) -> Obj:
    return {"kind": kind, "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": items}


def _find(items: list[Obj], namespace: str, name: str) -> Obj | None:
    for item in items:
        meta = item["metadata"]
        if meta["name"] == name and meta.get("namespace") == namespace:
            return item
    return None


def _merge(target: Obj, patch: Obj) -> None:
    """Strategic merge as the API server does it: null deletes, named list items merge."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        elif _named(value) and _named(target.get(key)):
            items = {item["name"]: item for item in target[key]}
            for item in value:
                if item["name"] in items:
                    _merge(items[item["name"]], item)
                else:
                    target[key].append(item)
        else:
            target[key] = value


def _named(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, dict) and "name" in v for v in value)


class _Handler(BaseHTTPRequestHandler):
    state: KubeState

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _send(self, code: int, body: Obj) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self) -> None:
        url = urlparse(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        request = Request(self.command, url.path, parse_qs(url.query), body)
        self.state.requests.append(request)
        if self.state.token and self.headers.get("Authorization") != f"Bearer {self.state.token}":
            self._send(401, _status(401, "Unauthorized", "Unauthorized"))
            return
        code, answer = route(self.state, request)
        self._send(code, answer)

    do_GET = do_POST = do_PATCH = _handle


def route(state: KubeState, req: Request) -> tuple[int, Obj]:  # noqa: C901 - one table of routes
    """Answer one request."""
    path, method = req.path, req.method
    if method == "GET" and path == "/api/v1/nodes":
        return 200, _list("NodeList", state.nodes)
    if method == "GET" and path == "/api/v1/namespaces":
        return 200, _list("NamespaceList", state.namespaces)
    if m := re.fullmatch(r"/api/v1/namespaces/([^/]+)", path):
        found = next((n for n in state.namespaces if n["metadata"]["name"] == m[1]), None)
        if found is None:
            return 404, _status(404, "NotFound", f'namespaces "{m[1]}" not found')
        return 200, found
    if method == "GET" and path == "/api/v1/resourcequotas":
        return 200, _list("ResourceQuotaList", state.quotas)
    if method == "GET" and path == "/api/v1/serviceaccounts":
        return 200, _list("ServiceAccountList", state.service_accounts)
    if method == "GET" and path == "/apis/networking.k8s.io/v1/networkpolicies":
        return 200, _list("NetworkPolicyList", state.network_policies)
    if method == "GET" and path == "/api/v1/pods":
        return 200, _list("PodList", state.pods)
    if method == "GET" and path == "/apis/apps/v1/deployments":
        return 200, _list("DeploymentList", state.deployments)
    if m := re.fullmatch(r"/apis/apps/v1/namespaces/([^/]+)/deployments", path):
        return 200, _list(
            "DeploymentList", [d for d in state.deployments if d["metadata"]["namespace"] == m[1]]
        )
    if m := re.fullmatch(r"/apis/apps/v1/namespaces/([^/]+)/deployments/([^/]+)(/scale)?", path):
        return _deployment(state, req, m[1], m[2], scale=bool(m[3]))
    if method == "GET" and path == "/apis/batch/v1/jobs":
        return 200, _list("JobList", state.jobs)
    if m := re.fullmatch(r"/apis/batch/v1/namespaces/([^/]+)/jobs", path):
        if method == "POST":
            return _create_job(state, req, m[1])
        return 200, _list("JobList", [j for j in state.jobs if j["metadata"]["namespace"] == m[1]])
    if m := re.fullmatch(r"/apis/batch/v1/namespaces/([^/]+)/jobs/([^/]+)", path):
        job = _find(state.jobs, m[1], m[2])
        if job is None:
            return 404, _status(404, "NotFound", f'jobs.batch "{m[2]}" not found')
        return 200, job
    if method == "GET" and path in state.custom:
        return 200, _list("List", state.custom[path])
    if (m := re.fullmatch(r"(.+)/([^/]+)", path)) and m[1] in state.custom:
        return _custom_item(state.custom[m[1]], req, m[2])
    return 404, _status(404, "NotFound", f"the stub does not serve {method} {path}")


def _custom_item(items: list[Obj], req: Request, name: str) -> tuple[int, Obj]:
    """GET or merge-PATCH one cluster-scoped custom object by name."""
    found = next((i for i in items if i["metadata"]["name"] == name), None)
    if found is None:
        return 404, _status(404, "NotFound", f'"{name}" not found')
    if req.method == "PATCH":
        target = json.loads(json.dumps(found))
        _merge(target, req.body)
        if not req.dry_run:
            found.clear()
            found.update(target)
        return 200, target
    return 200, found


def _deployment(
    state: KubeState, req: Request, namespace: str, name: str, *, scale: bool
) -> tuple[int, Obj]:
    dep = _find(state.deployments, namespace, name)
    if dep is None:
        return 404, _status(404, "NotFound", f'deployments.apps "{name}" not found')
    if req.method == "PATCH":
        target = json.loads(json.dumps(dep))
        if scale:
            replicas = req.body["spec"]["replicas"]
            if not isinstance(replicas, int) or replicas < 0:
                return 422, _status(422, "Invalid", "spec.replicas: must be >= 0")
            target["spec"]["replicas"] = replicas
        else:
            _merge(target, req.body)
        if not req.dry_run:
            dep.clear()
            dep.update(target)
        dep = target
    if scale:
        return 200, {
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"replicas": dep["spec"]["replicas"]},
            "status": {"replicas": dep.get("status", {}).get("replicas", 0)},
        }
    return 200, dep


def _create_job(state: KubeState, req: Request, namespace: str) -> tuple[int, Obj]:
    job = req.body
    name = job["metadata"]["name"]
    if _find(state.jobs, namespace, name) is not None:
        return 409, _status(409, "AlreadyExists", f'jobs.batch "{name}" already exists')
    if not any(n["metadata"]["name"] == namespace for n in state.namespaces):
        return 404, _status(404, "NotFound", f'namespaces "{namespace}" not found')
    job["metadata"]["namespace"] = namespace
    job["metadata"].setdefault("creationTimestamp", "2026-11-02T06:00:00Z")
    job.setdefault("status", {})
    if not req.dry_run:
        state.jobs.append(job)
    return 201, job


@contextmanager
def serve_kube(state: KubeState) -> Iterator[str]:
    """Run the stub on a free loopback port; yield its base URL."""
    handler = type("Handler", (_Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
