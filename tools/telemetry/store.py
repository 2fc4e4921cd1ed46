"""The telemetry store: DuckDB file of reference and window histograms plus window facts.

Reference histograms are written once per model version (with the model's performance
estimator, where the reference has predictions and labels); each current window adds one row
per feature (binned at ingest) and one row of window facts (volume, freshness, schema,
realised or estimated performance, latency, traffic). A fleet scan reads it all back as
arrays.
"""

import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
from pydantic import BaseModel

from tools.errors import ConflictError, NotFoundError, StateError
from tools.state_db import migrate
from tools.state_manifest import RESTORE_HINT, expect_store, record_store, refuse_emptied
from tools.telemetry.binning import FeatureReference, FeatureWindow

SCHEMA = "lotsen.telemetry"
LOCK_WAIT_S = 30.0
"""How long opening the store waits for another process that holds DuckDB's file lock."""
_MIGRATIONS = (
    # 1: models, reference and window histograms, window facts, injected faults
    """
CREATE TABLE models (
    model VARCHAR PRIMARY KEY, version INTEGER, pipeline VARCHAR, metric VARCHAR,
    reference_metric DOUBLE, higher_is_better BOOLEAN, baseline_latency_ms DOUBLE,
    deployed_at TIMESTAMPTZ, expected_rows BIGINT, window_hours DOUBLE);
CREATE TABLE reference (
    model VARCHAR, version INTEGER, feature VARCHAR, kind VARCHAR, edges DOUBLE[],
    categories VARCHAR[], counts DOUBLE[], sums DOUBLE[], n BIGINT, nulls BIGINT,
    mean DOUBLE, std DOUBLE, n_unique BIGINT, importance DOUBLE,
    PRIMARY KEY (model, version, feature));
CREATE TABLE window_bins (
    model VARCHAR, window_start TIMESTAMPTZ, feature VARCHAR, counts DOUBLE[], sums DOUBLE[],
    n BIGINT, nulls BIGINT, invalid BIGINT, missing BOOLEAN, type_mismatch BOOLEAN,
    PRIMARY KEY (model, window_start, feature));
CREATE TABLE windows (
    model VARCHAR, window_start TIMESTAMPTZ, rows BIGINT, freshness_lag_h DOUBLE,
    schema_fingerprint VARCHAR, metric_value DOUBLE, labelled_rows BIGINT,
    latency_p95_ms DOUBLE, requests_per_s DOUBLE, PRIMARY KEY (model, window_start));
CREATE TABLE injected_faults (
    id INTEGER, kind VARCHAR, target VARCHAR, models VARCHAR[], features VARCHAR[],
    window_start TIMESTAMPTZ, detail VARCHAR);
""",
    # 2: performance estimated while labels are delayed (tools/telemetry/performance.py)
    """
ALTER TABLE windows ADD COLUMN estimated_metric DOUBLE;
ALTER TABLE windows ADD COLUMN estimate_reference DOUBLE;
CREATE TABLE performance_models (
    model VARCHAR, version INTEGER, metric VARCHAR, prediction VARCHAR, threshold DOUBLE,
    knots DOUBLE[], "values" DOUBLE[], reference_estimate DOUBLE, reference_realised DOUBLE,
    reference_rows BIGINT, PRIMARY KEY (model, version));
""",
)
_UNVERSIONED = "lotsen.telemetry/1"
"""What files written before numbered migrations carry as their schema (= version 1)."""

logger = logging.getLogger(__name__)


class ModelMeta(BaseModel):
    """What the monitor compares a model's windows against."""

    model: str
    version: int
    pipeline: str
    metric: str
    reference_metric: float
    higher_is_better: bool = True
    baseline_latency_ms: float
    deployed_at: datetime
    expected_rows: int
    window_hours: float = 24.0


class WindowFacts(BaseModel):
    """Everything about one current window that is not a histogram."""

    model: str
    window_start: datetime
    rows: int
    freshness_lag_h: float
    schema_fingerprint: str
    metric_value: float | None = None
    """The realised metric (None: no labels yet). It always wins over the estimate."""
    labelled_rows: int = 0
    latency_p95_ms: float
    requests_per_s: float
    estimated_metric: float | None = None
    """The metric estimated from the prediction column at ingest (None: no estimate)."""
    estimate_reference: float | None = None
    """The same estimate on the reference: what `estimated_metric` is compared with."""


class InjectedFault(BaseModel):
    """Ground truth of one simulated fault."""

    id: int
    kind: str
    target: str
    models: list[str]
    features: list[str] = []
    window_start: datetime
    detail: str = ""


def reference_row(
    model: str, version: int, ref: FeatureReference, importance: float
) -> list[object]:
    """One `reference` table row."""
    return [
        model,
        version,
        ref.feature,
        ref.kind.value,
        ref.edges,
        ref.categories,
        ref.counts,
        ref.sums,
        ref.n,
        ref.nulls,
        ref.mean,
        ref.std,
        ref.n_unique,
        importance,
    ]


def window_row(model: str, window_start: datetime, window: FeatureWindow) -> list[object]:
    """One `window_bins` table row."""
    return [
        model,
        window_start,
        window.feature,
        window.counts,
        window.sums,
        window.n,
        window.nulls,
        window.invalid,
        window.missing,
        window.type_mismatch,
    ]


class TelemetryStore:
    """DuckDB-backed telemetry (one file; `:memory:` for tests and benchmarks)."""

    def __init__(self, path: Path | str, lock_wait_s: float = LOCK_WAIT_S) -> None:
        """Open or create the store, waiting up to `lock_wait_s` for another writer."""
        self.db = _open(path, lock_wait_s)

    @classmethod
    def read_only(cls, path: Path | str) -> "TelemetryStore":
        """Open an existing store file for reading only (several processes may at once).

        No migration and no manifest entry: a partitioned scan's workers read the file a
        writer prepared, and DuckDB refuses read-only opens while a writer holds it.
        """
        store = cls.__new__(cls)
        try:
            store.db = duckdb.connect(str(path), read_only=True)
        except duckdb.Error as exc:
            raise _unusable(path, exc) from exc
        return store

    def put_model(
        self, meta: ModelMeta, references: list[FeatureReference], importance: dict[str, float]
    ) -> None:
        """Register a model version and its reference histograms (replacing older ones)."""
        for table in ("models", "reference", "performance_models"):
            self.db.execute(f"DELETE FROM {table} WHERE model = ?", [meta.model])
        self.db.execute(
            "INSERT INTO models VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            list(meta.model_dump().values()),
        )
        rows = [
            reference_row(meta.model, meta.version, r, importance.get(r.feature, 1.0))
            for r in references
        ]
        self.db.executemany(
            "INSERT INTO reference VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
        )

    def put_window(self, facts: WindowFacts, bins: list[FeatureWindow]) -> None:
        """Store one binned current window (replacing the same window if re-ingested)."""
        key = [facts.model, facts.window_start]
        self.db.execute("DELETE FROM windows WHERE model = ? AND window_start = ?", key)
        self.db.execute("DELETE FROM window_bins WHERE model = ? AND window_start = ?", key)
        values = facts.model_dump()
        self.db.execute(
            f"INSERT INTO windows ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
            list(values.values()),
        )
        rows = [window_row(facts.model, facts.window_start, b) for b in bins]
        self.db.executemany("INSERT INTO window_bins VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def bulk_insert(self, table: str, frame: Any) -> None:
        """Append an Arrow table or DataFrame (fast path); columns it lacks stay NULL."""
        self.db.register("incoming", frame)
        self.db.execute(f"INSERT INTO {table} BY NAME SELECT * FROM incoming")
        self.db.unregister("incoming")

    def record_fault(self, fault: InjectedFault) -> None:
        """Record simulated ground truth."""
        self.db.execute(
            "INSERT INTO injected_faults VALUES (?, ?, ?, ?, ?, ?, ?)",
            list(fault.model_dump().values()),
        )

    def faults(self) -> list[InjectedFault]:
        """Injected ground truth, in order."""
        rows = self.db.execute("SELECT * FROM injected_faults ORDER BY id").fetchall()
        names = list(InjectedFault.model_fields)
        return [InjectedFault.model_validate(dict(zip(names, row, strict=True))) for row in rows]

    def models(self) -> list[ModelMeta]:
        """All monitored models."""
        rows = self.db.execute("SELECT * FROM models ORDER BY model").fetchall()
        names = list(ModelMeta.model_fields)
        return [ModelMeta.model_validate(dict(zip(names, row, strict=True))) for row in rows]

    def model(self, name: str) -> ModelMeta:
        """One monitored model; NotFoundError if it has no reference yet."""
        for meta in self.models():
            if meta.model == name:
                return meta
        raise NotFoundError(
            f"model {name!r} has no reference telemetry; run `lotsen telemetry reference` first"
        )

    def references(self, name: str) -> list[FeatureReference]:
        """The reference histograms of a model's monitored version."""
        meta = self.model(name)
        rows = self.db.execute(
            "SELECT feature, kind, edges, categories, counts, sums, n, nulls, mean, std, n_unique "
            "FROM reference WHERE model = ? AND version = ? ORDER BY feature",
            [name, meta.version],
        ).fetchall()
        keys = (
            "feature",
            "kind",
            "edges",
            "categories",
            "counts",
            "sums",
            "n",
            "nulls",
            "mean",
            "std",
            "n_unique",
        )
        return [FeatureReference.model_validate(dict(zip(keys, row, strict=True))) for row in rows]

    def latest_window(self) -> datetime | None:
        """Start of the newest window in the store."""
        row = self._one("SELECT max(window_start) FROM windows")
        return None if row is None else row[0]

    def clear(self) -> None:
        """Remove all telemetry (before a new simulation)."""
        for table in (
            "models",
            "reference",
            "window_bins",
            "windows",
            "injected_faults",
            "performance_models",
        ):
            self.db.execute(f"DELETE FROM {table}")

    def _one(self, sql: str) -> tuple[Any, ...] | None:
        """First row of a query, consuming the whole result (DuckDB 2 requires it)."""
        rows = self.db.execute(sql).fetchall()
        return rows[0] if rows else None

    def close(self) -> None:
        """Close the database."""
        self.db.close()


@dataclass(frozen=True)
class DuckDBBackend:
    """`StateBackend` over a DuckDB connection, so telemetry files migrate like the rest."""

    conn: duckdb.DuckDBPyConnection
    errors: tuple[type[Exception], ...] = (duckdb.Error,)

    def begin(self) -> None:
        """Open a transaction (DuckDB files have one writing process at a time)."""
        self.conn.execute("BEGIN TRANSACTION")

    def execute(self, sql: str, params: Sequence[str] = ()) -> list[tuple[Any, ...]]:
        """Run one statement and return its rows."""
        return self.conn.execute(sql, list(params)).fetchall()

    def script(self, sql: str) -> None:
        """Run several statements inside the open transaction."""
        self.conn.execute(sql)


def _open(path: Path | str, lock_wait_s: float = LOCK_WAIT_S) -> duckdb.DuckDBPyConnection:
    """Connect to the store file and bring it to the current schema version."""
    file = None if str(path) == ":memory:" else Path(path)
    listed = file is not None and expect_store(file, SCHEMA)
    conn = _connect(str(path), lock_wait_s)
    try:
        backend = DuckDBBackend(conn)
        _adopt_unversioned(backend, path)
        refuse_emptied(path, SCHEMA, listed=listed, has_tables=_has_tables(backend))
        migrate(backend, path, SCHEMA, _MIGRATIONS)
    except duckdb.Error as exc:
        conn.close()
        raise _unusable(path, exc) from exc
    except StateError:
        conn.close()
        raise
    if file is not None and not listed:
        record_store(file, SCHEMA)
    return conn


def _connect(path: str, lock_wait_s: float) -> duckdb.DuckDBPyConnection:
    """Connect, waiting up to `lock_wait_s` while another process holds the file's lock."""
    deadline = time.monotonic() + lock_wait_s
    while True:
        try:
            return duckdb.connect(path)
        except duckdb.IOException as exc:
            if "could not set lock" not in str(exc).lower():
                raise _unusable(path, exc) from exc
            if time.monotonic() >= deadline:
                raise ConflictError(
                    f"{path} is in use by another process ({_lock_holder(exc)}) and stayed "
                    f"locked for {lock_wait_s:.0f} s; wait for that command to finish and "
                    "retry (the data is fine: do not move the file)"
                ) from exc
            time.sleep(0.2)
        except duckdb.Error as exc:
            raise _unusable(path, exc) from exc


def _lock_holder(exc: duckdb.Error) -> str:
    """The `... (PID n) ...` part of DuckDB's lock error, else a generic phrase."""
    found = re.search(r"held in (.+?) \(PID (\d+)\)", str(exc))
    return f"PID {found.group(2)}, {found.group(1)}" if found else "see `fuser` for the holder"


def _has_tables(db: DuckDBBackend) -> bool:
    return bool(db.execute("SELECT name FROM sqlite_master WHERE type='table'"))


def _unusable(path: Path | str, exc: duckdb.Error) -> StateError:
    return StateError(f"{path} is not a usable telemetry database ({exc}); {RESTORE_HINT}")


def _adopt_unversioned(db: DuckDBBackend, path: Path | str) -> None:
    """Record a file from before numbered migrations as what it is: version 1."""
    tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "lotsen_meta" not in tables:
        return
    if dict(db.execute("SELECT key, value FROM lotsen_meta")) != {"schema": _UNVERSIONED}:
        return
    db.begin()
    try:
        db.execute("UPDATE lotsen_meta SET value = ? WHERE key = 'schema'", (SCHEMA,))
        db.execute("INSERT INTO lotsen_meta VALUES ('version', '1')")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    logger.info("%s: recorded %s as %s schema version 1", path, _UNVERSIONED, SCHEMA)
