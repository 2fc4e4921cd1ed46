"""Incident memory: resolved incidents and runbooks in Chroma, retrieved as evidence."""

import logging
import sqlite3
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TypeVar

import chromadb
from chromadb.api.types import Documents, EmbeddingFunction
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import ChromaError
from pydantic import BaseModel

from memory.embedding import HashingEmbedding
from tools.errors import StateError
from tools.state_manifest import RESTORE_HINT

logger = logging.getLogger(__name__)
T = TypeVar("T")
COLLECTION = "lotsen-incidents"


class Recollection(BaseModel):
    """A past incident or runbook similar to the current one."""

    id: str
    kind: str
    """Incident kind, or `runbook`."""
    text: str
    outcome: str = ""
    distance: float


class IncidentMemory:
    """A persistent Chroma collection of past incidents plus the shipped runbooks."""

    def __init__(self, path: Path, embedding: EmbeddingFunction[Documents] | None = None) -> None:
        """Open (or create) the memory in `path`; runbooks are loaded once.

        Args:
            path: Chroma's directory.
            embedding: Defaults to the offline `HashingEmbedding`. Each embedding function
                gets its own collection (vectors of different models do not mix).
        """
        embed = embedding or HashingEmbedding()
        try:
            client = chromadb.PersistentClient(
                path=str(path), settings=ChromaSettings(anonymized_telemetry=False)
            )
            self._collection = client.get_or_create_collection(
                f"{COLLECTION}-{embed.name()}",
                embedding_function=embed,  # type: ignore[arg-type]  # typed for all inputs
            )
        except (ChromaError, sqlite3.DatabaseError, OSError) as exc:
            raise StateError(
                f"{path} (incident memory) cannot be opened ({exc}); {RESTORE_HINT}"
            ) from exc
        self._guard(self._load_runbooks)

    def remember(self, incident_id: str, kind: str, text: str, outcome: str) -> None:
        """Store (or update) an incident with how it ended (skipped if embedding fails)."""
        self._guard(lambda: self._upsert(incident_id, kind, text, outcome))

    def _upsert(self, incident_id: str, kind: str, text: str, outcome: str) -> None:
        self._collection.upsert(
            ids=[incident_id],
            documents=[text],
            metadatas=[{"kind": kind, "outcome": outcome or "-"}],
        )

    def similar(self, text: str, k: int = 3) -> list[Recollection]:
        """The `k` closest incidents and runbooks to a description ([] if embedding fails)."""
        return self._guard(lambda: self._query(text, k)) or []

    def _guard(self, work: Callable[[], T]) -> T | None:
        """Memory is evidence, never a blocker: an embedding failure is logged, not raised."""
        try:
            return work()
        except Exception as exc:  # the endpoint may be down; decisions go on without memory
            logger.warning(
                "incident memory unavailable: %s", str(exc).splitlines()[0] if str(exc) else exc
            )
            return None

    def _query(self, text: str, k: int) -> list[Recollection]:
        count = self._collection.count()
        if count == 0:
            return []
        found = self._collection.query(query_texts=[text], n_results=min(k, count))
        ids, docs = found["ids"][0], (found["documents"] or [[]])[0]
        metas, dists = (found["metadatas"] or [[]])[0], (found["distances"] or [[]])[0]
        return [
            Recollection(
                id=i,
                kind=str(m.get("kind", "")),
                text=d,
                outcome=str(m.get("outcome", "")),
                distance=float(dist),
            )
            for i, d, m, dist in zip(ids, docs, metas, dists, strict=True)
        ]

    def _load_runbooks(self) -> None:
        folder = resources.files("memory") / "runbooks"
        books = sorted(
            (p.name, p.read_text(encoding="utf-8"))
            for p in folder.iterdir()
            if p.name.endswith(".md")
        )
        if books:
            self._collection.upsert(
                ids=[f"runbook:{n}" for n, _ in books],
                documents=[t for _, t in books],
                metadatas=[{"kind": "runbook", "outcome": "-"} for _ in books],
            )
