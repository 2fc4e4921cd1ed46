"""Wiring the remediation workflow to the world: registry, twin, audit, checkpoints, LLM."""

import getpass
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from agents.remediation.executor import RemediationWorld
from agents.remediation.graph import build_graph
from agents.remediation.trainer import SyntheticTrainer
from lotsen.llm import llm_context
from lotsen.settings import Settings
from lotsen.world import configure_mlflow_env, current_world, open_cluster, open_registry
from memory.audit import AuditLog
from memory.embedding import OpenAIEmbedding
from memory.incident_memory import IncidentMemory
from memory.remediation import RemediationStore
from tools.errors import BackendUnavailableError, ConfigError, StateError
from tools.policy.spec import load_policies


@dataclass
class Workflow:
    """A world plus the compiled graph that acts on it."""

    world: RemediationWorld
    graph: Any
    proposer: str


def current_user(settings: Settings, override: str | None = None) -> str:
    """Who is acting: --as, else LOTSEN_USER, else the OS user."""
    return override or settings.user or getpass.getuser()


def _utcnow() -> datetime:
    return datetime.now(UTC)


@contextmanager
def open_workflow(settings: Settings, user: str | None = None) -> Iterator[Workflow]:
    """Open everything the workflow needs; close it afterwards."""
    configure_mlflow_env()
    files = current_world(settings)
    audit = AuditLog(files.audit_db)
    store = RemediationStore(files.remediation_db)
    try:
        with _checkpointer(settings, files.checkpoints_db) as saver:
            world = RemediationWorld(
                registry=open_registry(settings, files),
                cluster=open_cluster(settings),
                audit=audit,
                store=store,
                trainer=SyntheticTrainer(),
                clock=_utcnow,
                memory=IncidentMemory(files.root / "incident_memory", _embedding(settings)),
                policies=load_policies(list(settings.policy_files)),
            )
            proposer = current_user(settings, user)
            graph = build_graph(
                world,
                llm_context(settings),
                proposer,
                saver,
                timedelta(hours=settings.approval_ttl_hours),
            )
            yield Workflow(world=world, graph=graph, proposer=proposer)
    finally:
        audit.close()
        store.close()


def _embedding(settings: Settings) -> OpenAIEmbedding | None:
    """The configured embeddings endpoint, or None for the offline default."""
    if settings.embeddings_url is None:
        return None
    key = settings.embeddings_api_key.get_secret_value() if settings.embeddings_api_key else None
    return OpenAIEmbedding(settings.embeddings_url, settings.embeddings_model, key)


@contextmanager
def _checkpointer(settings: Settings, path: Path) -> Iterator[Any]:
    """PostgreSQL when LOTSEN_CHECKPOINT_URL is set, else SQLite in the world directory."""
    if settings.checkpoint_url is not None:
        with _postgres(settings.checkpoint_url.get_secret_value()) as saver:
            yield saver
        return
    from langgraph.checkpoint.sqlite import SqliteSaver

    conn = sqlite3.connect(path, check_same_thread=False)
    try:
        saver = SqliteSaver(conn)
        try:
            saver.setup()
        except sqlite3.DatabaseError as exc:
            raise StateError(
                f"{path} is not a usable checkpoint database ({exc}); move it away "
                "(runs in progress are then lost; their audit records remain)"
            ) from exc
        yield saver
    finally:
        conn.close()


@contextmanager
def _postgres(url: str) -> Iterator[Any]:
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
        saver = PostgresSaver(conn)
        saver.setup()
        yield saver
    finally:
        conn.close()
