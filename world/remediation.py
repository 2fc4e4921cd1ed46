"""The remediation workflow's port on the world, and its checkpointer."""

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agents.remediation.executor import RemediationWorld
from tools.errors import BackendUnavailableError, ConfigError, StateError
from tools.state_manifest import RESTORE_HINT, expect_store, record_store, refuse_emptied
from world.settings import Settings
from world.world import World

if TYPE_CHECKING:
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    from agents.remediation.executor import Reverter
    from agents.remediation.trainers.config import TrainerSetup
    from tools.domain.events import ChangeEvent


CHECKPOINTS_KIND = "langgraph.checkpoints"


@dataclass
class Workflow:
    """The workflow's port on the world plus the compiled graph that acts on it."""

    world: RemediationWorld
    graph: Any
    proposer: str


def remediation_port(world: World) -> RemediationWorld:
    """What the remediation workflow may act on, taken from the world."""
    return RemediationWorld(
        registry=world.registry,
        cluster=world.cluster,
        audit=world.audit,
        store=world.runs,
        approvals=world.approvals,
        trainers=trainer_setup(world),
        clock=world.clock,
        gate=world.gate,
        memory=world.memory,
        approval_ttl=world.approval_ttl,
        pipelines=world.pipelines,
        events=lambda models, start, end: world_events(world, models, start, end),
        revert=_reverter(world),
    )


def world_events(
    world: World, models: set[str], start: datetime, end: datetime
) -> "list[ChangeEvent]":
    """Recorded changes to `models` in [start, end]: the twin's event log and alias moves."""
    from tools.cluster.sim import SimCluster
    from tools.events import events_between

    cluster = world.cluster
    log = cluster.events if isinstance(cluster, SimCluster) else None
    return events_between(start, end, models, log, world.registry)


def _reverter(world: World) -> "Reverter | None":
    """Undoing a serving change: on the twin, a new change back to the old values."""
    from tools.cluster.sim import SimCluster

    cluster = world.cluster
    if not isinstance(cluster, SimCluster):
        return None
    twin = cluster

    def revert(event: "ChangeEvent", actor: str, reason: str) -> "ChangeEvent":
        namespace, name = event.subject.split("/", 1)
        return twin.change_serving(
            namespace, name, dict(event.before), kind=event.kind, actor=actor, reason=reason
        )

    return revert


def trainer_setup(world: World) -> "TrainerSetup":
    """Which trainer retrains which model (LOTSEN_TRAINER, LOTSEN_TRAINERS_FILE, tags)."""
    from agents.remediation.trainers.config import TrainerSetup, load_trainers_file
    from tools.cluster.sim import SimCluster
    from tools.registry import sqlite_uri

    settings = world.settings
    cluster = world.cluster
    return TrainerSetup(
        registry=world.registry,
        cluster=cluster,
        tracking_uri=settings.mlflow_uri or sqlite_uri(world.files.mlflow_db),
        embedded=settings.mlflow_uri is None,
        kind=settings.trainer,
        entries=tuple(load_trainers_file(settings.trainers_file)) if settings.trainers_file else (),
        timeout=timedelta(hours=settings.trainer_timeout_hours),
        advance=cluster.advance if isinstance(cluster, SimCluster) else None,
    )


@contextmanager
def open_workflow(
    world: World, user: str | None = None, *, recorded_proposer: str | None = None
) -> Iterator[Workflow]:
    """The compiled workflow over the world (checkpointer closed afterwards).

    Args:
        world: The world.
        user: Who runs it now (checked as an operator).
        recorded_proposer: Resuming a run: the proposer it recorded, taken as it is (the
            person acting now is the approver, checked on their own).
    """
    from agents.remediation.graph import build_graph

    port = remediation_port(world)
    proposer = recorded_proposer or world.user(user)
    with _checkpointer(world.settings, world.files.checkpoints_db) as saver:
        graph = build_graph(port, world.llm(task="retrainer/decide"), proposer, saver)
        yield Workflow(world=port, graph=graph, proposer=proposer)


@contextmanager
def _checkpointer(settings: Settings, path: Path) -> Iterator[Any]:
    """PostgreSQL when LOTSEN_CHECKPOINT_URL is set, else SQLite in the world directory."""
    from agents.remediation.graph import checkpoint_serde

    serde = checkpoint_serde()  # revives the workflow's state types, nothing else
    if settings.checkpoint_url is not None:
        with _postgres(settings.checkpoint_url.get_secret_value(), serde) as saver:
            yield saver
        return
    from langgraph.checkpoint.sqlite import SqliteSaver

    listed = expect_store(path, CHECKPOINTS_KIND)
    conn = sqlite3.connect(path, check_same_thread=False)
    try:
        saver = SqliteSaver(conn, serde=serde)
        try:
            tables = conn.execute("SELECT name FROM sqlite_master").fetchall()
            refuse_emptied(path, "checkpoint", listed=listed, has_tables=bool(tables))
            saver.setup()
        except sqlite3.DatabaseError as exc:
            raise StateError(
                f"{path} is not a usable checkpoint database ({exc}); {RESTORE_HINT} "
                "(runs waiting for approval resume from it; their audit records remain)"
            ) from exc
        if not listed:
            record_store(path, CHECKPOINTS_KIND)
        yield saver
    finally:
        conn.close()


@contextmanager
def _postgres(url: str, serde: "JsonPlusSerializer") -> Iterator[Any]:
    try:
        import psycopg
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg.rows import dict_row
    except ImportError as exc:
        raise ConfigError(
            "LOTSEN_CHECKPOINT_URL needs the postgres extra: pip install 'lotsen[postgres]'"
        ) from exc
    try:
        conn = psycopg.connect(url, autocommit=True, row_factory=dict_row)
    except psycopg.OperationalError as exc:
        first = str(exc).splitlines()[0]
        raise BackendUnavailableError(f"cannot reach the checkpoint database: {first}") from exc
    try:
        saver = PostgresSaver(conn, serde=serde)
        saver.setup()
        yield saver
    finally:
        conn.close()
