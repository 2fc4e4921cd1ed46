"""SQLite persistence of the twin: one row per object, a JSON document each.

All reads and writes of one operation happen in one `Tx` (BEGIN IMMEDIATE), so several
processes (CLI, server, evals) can share a twin and always see a consistent cluster.
"""

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from pydantic import TypeAdapter

from tools.cluster.sim.spec import ClusterSpec
from tools.domain import Deployment, Fault, Job, JobStatus, Namespace, Node, NodePool
from tools.domain.queues import CronSchedule, QueueConfig
from tools.errors import NotFoundError
from tools.state_db import open_state_db

SCHEMA = "lotsen.cluster"
_SCHEDULES = TypeAdapter(list[CronSchedule])
_MIGRATIONS = (
    # 1: the twin
    """
CREATE TABLE pools (name TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE nodes (
    name TEXT PRIMARY KEY, pool TEXT NOT NULL, env TEXT NOT NULL, doc TEXT NOT NULL
);
CREATE TABLE namespaces (name TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE deployments (
    namespace TEXT NOT NULL, name TEXT NOT NULL, doc TEXT NOT NULL,
    PRIMARY KEY (namespace, name)
);
CREATE TABLE jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, namespace TEXT NOT NULL,
    status TEXT NOT NULL, idempotency_key TEXT NOT NULL UNIQUE, doc TEXT NOT NULL
);
CREATE TABLE faults (id INTEGER PRIMARY KEY AUTOINCREMENT, doc TEXT NOT NULL);
CREATE TABLE twin (key TEXT PRIMARY KEY, value TEXT NOT NULL);
""",
)


class Tx:
    """One transaction over the twin. Loaded objects are cached; saves are explicit."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._nodes: dict[str, Node] | None = None

    # clock and spec
    def now(self) -> datetime:
        """The virtual clock."""
        return datetime.fromisoformat(self._get("clock"))

    def set_now(self, at: datetime) -> None:
        """Move the virtual clock."""
        self._put("clock", at.isoformat())

    def spec(self) -> ClusterSpec:
        """The spec the twin was built from."""
        return ClusterSpec.model_validate_json(self._get("spec"))

    # pools and nodes
    def pools(self) -> list[NodePool]:
        """All node pools."""
        rows = self._conn.execute("SELECT doc FROM pools ORDER BY name")
        return [NodePool.model_validate_json(doc) for (doc,) in rows]

    def save_pool(self, pool: NodePool) -> None:
        """Insert or replace a pool."""
        self._conn.execute("REPLACE INTO pools VALUES (?, ?)", (pool.name, pool.model_dump_json()))

    def nodes(self) -> dict[str, Node]:
        """All nodes by name (loaded once per transaction)."""
        if self._nodes is None:
            rows = self._conn.execute("SELECT doc FROM nodes ORDER BY name")
            self._nodes = {n.name: n for n in (Node.model_validate_json(doc) for (doc,) in rows)}
        return self._nodes

    def node(self, name: str) -> Node:
        """One node; NotFoundError if unknown."""
        try:
            return self.nodes()[name]
        except KeyError:
            raise NotFoundError(
                f"unknown node {name!r}; `lotsen cluster nodes` lists them"
            ) from None

    def save_node(self, node: Node) -> None:
        """Insert or replace a node."""
        self._conn.execute(
            "REPLACE INTO nodes VALUES (?, ?, ?, ?)",
            (node.name, node.pool, node.env.value, node.model_dump_json()),
        )
        self.nodes()[node.name] = node

    # namespaces
    def namespaces(self) -> list[Namespace]:
        """All namespaces."""
        rows = self._conn.execute("SELECT doc FROM namespaces ORDER BY name")
        return [Namespace.model_validate_json(doc) for (doc,) in rows]

    def namespace(self, name: str) -> Namespace:
        """One namespace; NotFoundError if unknown."""
        row = self._conn.execute("SELECT doc FROM namespaces WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise NotFoundError(
                f"unknown namespace {name!r}; `lotsen cluster namespaces` lists them"
            )
        return Namespace.model_validate_json(row[0])

    def save_namespace(self, ns: Namespace) -> None:
        """Insert or replace a namespace."""
        self._conn.execute("REPLACE INTO namespaces VALUES (?, ?)", (ns.name, ns.model_dump_json()))

    # deployments
    def deployments(self, namespace: str | None = None) -> list[Deployment]:
        """Deployments, optionally of one namespace."""
        query = "SELECT doc FROM deployments"
        args: tuple[str, ...] = ()
        if namespace is not None:
            self.namespace(namespace)
            query, args = query + " WHERE namespace = ?", (namespace,)
        rows = self._conn.execute(query + " ORDER BY namespace, name", args)
        return [Deployment.model_validate_json(doc) for (doc,) in rows]

    def deployment(self, namespace: str, name: str) -> Deployment:
        """One deployment; NotFoundError if unknown."""
        row = self._conn.execute(
            "SELECT doc FROM deployments WHERE namespace = ? AND name = ?", (namespace, name)
        ).fetchone()
        if row is None:
            self.namespace(namespace)
            raise NotFoundError(f"no deployment {name!r} in namespace {namespace!r}")
        return Deployment.model_validate_json(row[0])

    def save_deployment(self, dep: Deployment) -> None:
        """Insert or replace a deployment."""
        self._conn.execute(
            "REPLACE INTO deployments VALUES (?, ?, ?)",
            (dep.namespace, dep.name, dep.model_dump_json()),
        )

    # jobs
    def jobs(self, namespace: str | None = None, status: JobStatus | None = None) -> list[Job]:
        """Jobs in submission order, optionally filtered."""
        clauses, args = [], []
        if namespace is not None:
            clauses.append("namespace = ?")
            args.append(namespace)
        if status is not None:
            clauses.append("status = ?")
            args.append(status.value)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._conn.execute(f"SELECT doc FROM jobs{where} ORDER BY seq", args)
        return [Job.model_validate_json(doc) for (doc,) in rows]

    def job(self, job_id: str) -> Job:
        """One job; NotFoundError if unknown."""
        row = self._conn.execute("SELECT doc FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"unknown job {job_id!r}; `lotsen cluster jobs` lists them")
        return Job.model_validate_json(row[0])

    def job_by_key(self, key: str) -> Job | None:
        """The job submitted with an idempotency key, if any."""
        row = self._conn.execute(
            "SELECT doc FROM jobs WHERE idempotency_key = ?", (key,)
        ).fetchone()
        return None if row is None else Job.model_validate_json(row[0])

    def next_job_number(self) -> int:
        """Number for the next job id."""
        (count,) = self._conn.execute("SELECT COUNT(*) FROM jobs").fetchone()
        return int(count) + 1

    def save_job(self, job: Job) -> None:
        """Insert a job or update its status and document."""
        self._conn.execute(
            "INSERT INTO jobs (id, namespace, status, idempotency_key, doc) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT(id) DO UPDATE SET status = excluded.status, doc = excluded.doc",
            (
                job.id,
                job.spec.namespace,
                job.status.value,
                job.spec.idempotency_key,
                job.model_dump_json(),
            ),
        )

    # Kueue objects and schedules (live copies; the spec keeps what reset restores)
    def queues(self) -> QueueConfig:
        """The cluster's ResourceFlavors, ClusterQueues and LocalQueues."""
        raw = self._get_optional("queues")
        return QueueConfig() if raw is None else QueueConfig.model_validate_json(raw)

    def save_queues(self, config: QueueConfig) -> None:
        """Replace the Kueue objects."""
        self._put("queues", config.model_dump_json())

    def schedules(self) -> list[CronSchedule]:
        """CronJobs, by namespace and name."""
        raw = self._get_optional("schedules")
        if raw is None:
            return []
        return _SCHEDULES.validate_json(raw)

    def save_schedules(self, schedules: list[CronSchedule]) -> None:
        """Replace the CronJobs."""
        ordered = sorted(schedules, key=lambda s: (s.namespace, s.name))
        self._put("schedules", _SCHEDULES.dump_json(ordered).decode())

    # faults
    def faults(self) -> list[Fault]:
        """Injected faults, oldest first."""
        rows = self._conn.execute("SELECT id, doc FROM faults ORDER BY id")
        return [Fault.model_validate_json(doc).model_copy(update={"id": fid}) for fid, doc in rows]

    def add_fault(self, kind: str, target: str, detail: dict[str, str]) -> Fault:
        """Record an injected fault."""
        fault = Fault(id=0, at=self.now(), kind=kind, target=target, detail=detail)
        cursor = self._conn.execute(
            "INSERT INTO faults (doc) VALUES (?)", (fault.model_dump_json(),)
        )
        assert cursor.lastrowid is not None
        return fault.model_copy(update={"id": cursor.lastrowid})

    def clear(self) -> None:
        """Delete every object (used by reset)."""
        for table in ("pools", "nodes", "namespaces", "deployments", "jobs", "faults", "twin"):
            self._conn.execute(f"DELETE FROM {table}")
        self._nodes = None

    def put_spec(self, spec: ClusterSpec) -> None:
        """Store the spec the twin is built from."""
        self._put("spec", spec.model_dump_json())

    def _get(self, key: str) -> str:
        row = self._conn.execute("SELECT value FROM twin WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise NotFoundError("the cluster twin is empty; run `lotsen fleet init` first")
        return str(row[0])

    def _get_optional(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM twin WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _put(self, key: str, value: str) -> None:
        self._conn.execute("REPLACE INTO twin VALUES (?, ?)", (key, value))


class TwinStore:
    """The twin's SQLite file."""

    def __init__(self, path: Path) -> None:
        """Open or create the twin file at `path`."""
        self.path = path
        self._conn = open_state_db(path, SCHEMA, _MIGRATIONS)

    @contextmanager
    def transaction(self, *, dry_run: bool = False) -> Iterator[Tx]:
        """A write transaction; with `dry_run` everything is rolled back at the end."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield Tx(self._conn)
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("ROLLBACK" if dry_run else "COMMIT")

    @contextmanager
    def read(self) -> Iterator[Tx]:
        """A read-only snapshot."""
        self._conn.execute("BEGIN")
        try:
            yield Tx(self._conn)
        finally:
            self._conn.execute("ROLLBACK")

    def close(self) -> None:
        """Close the file."""
        self._conn.close()
