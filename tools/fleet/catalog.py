"""The fleet catalogue: feature pipelines and how the world was seeded."""

from pathlib import Path

from tools.domain import FeaturePipeline
from tools.errors import NotFoundError
from tools.state_db import open_state_db

_MIGRATIONS = (
    # 1: pipelines and seeding
    """
CREATE TABLE pipelines (name TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE seeding (key TEXT PRIMARY KEY, value TEXT NOT NULL);
""",
)


class FleetCatalog:
    """Feature pipelines of the world, and the seed it was built from."""

    def __init__(self, path: Path) -> None:
        """Open or create the catalogue file at `path`."""
        self._conn = open_state_db(path, "lotsen.fleet", _MIGRATIONS)

    def add_pipelines(self, pipelines: list[FeaturePipeline]) -> None:
        """Store pipelines (replacing same-named ones)."""
        rows = [(p.name, p.model_dump_json()) for p in pipelines]
        self._conn.execute("BEGIN IMMEDIATE")
        self._conn.executemany("REPLACE INTO pipelines VALUES (?, ?)", rows)
        self._conn.execute("COMMIT")

    def pipelines(self) -> list[FeaturePipeline]:
        """All pipelines by name."""
        rows = self._conn.execute("SELECT doc FROM pipelines ORDER BY name")
        return [FeaturePipeline.model_validate_json(doc) for (doc,) in rows]

    def pipeline(self, name: str) -> FeaturePipeline:
        """One pipeline; NotFoundError if unknown."""
        row = self._conn.execute("SELECT doc FROM pipelines WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise NotFoundError(f"unknown feature pipeline {name!r}")
        return FeaturePipeline.model_validate_json(row[0])

    def record_seed(self, seed: int, models: int) -> None:
        """Remember what the world was seeded with."""
        self._conn.executemany(
            "REPLACE INTO seeding VALUES (?, ?)", [("seed", str(seed)), ("models", str(models))]
        )

    def seeding(self) -> dict[str, int]:
        """`seed` and `models` of the world, empty if not seeded."""
        rows = self._conn.execute("SELECT key, value FROM seeding").fetchall()
        return {key: int(value) for key, value in rows}

    def close(self) -> None:
        """Close the file."""
        self._conn.close()
