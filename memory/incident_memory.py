"""Incident memory: resolved incidents and runbooks in Chroma, retrieved as evidence."""

from importlib import resources
from pathlib import Path

import chromadb
from chromadb.config import Settings as ChromaSettings
from pydantic import BaseModel

from memory.embedding import HashingEmbedding

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

    def __init__(self, path: Path) -> None:
        """Open (or create) the memory in `path`; runbooks are loaded once."""
        client = chromadb.PersistentClient(
            path=str(path), settings=ChromaSettings(anonymized_telemetry=False)
        )
        self._collection = client.get_or_create_collection(
            COLLECTION,
            embedding_function=HashingEmbedding(),  # type: ignore[arg-type]  # typed for all inputs
        )
        self._load_runbooks()

    def remember(self, incident_id: str, kind: str, text: str, outcome: str) -> None:
        """Store (or update) an incident with how it ended."""
        self._collection.upsert(
            ids=[incident_id],
            documents=[text],
            metadatas=[{"kind": kind, "outcome": outcome or "-"}],
        )

    def similar(self, text: str, k: int = 3) -> list[Recollection]:
        """The `k` closest incidents and runbooks to a description."""
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
