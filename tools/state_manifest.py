"""Which stores Lotsen created, so a lost or emptied one is an error, not a fresh empty store.

Each directory holding Lotsen stores keeps a manifest (`.lotsen-stores.json`) naming the
stores created there and when. Opening a listed store that is now missing or empty raises
`StateError` naming the file and the two ways forward: restore it from a backup, or
`lotsen state init --store PATH` to start it anew (and lose what it held). A store found
on disk but not listed (made before manifests existed) is adopted into the manifest.
"""

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel

from tools.errors import StateError

MANIFEST_NAME = ".lotsen-stores.json"
RESTORE_HINT = (
    "restore it from a backup (`lotsen state restore BACKUP`); `lotsen state check` lists "
    "every store's condition"
)
_LOCK_NAME = ".lotsen-stores.lock"


class StoreEntry(BaseModel):
    """One store Lotsen created."""

    kind: str
    """Schema or store type, e.g. `lotsen.audit`, `mlflow`, `chroma`."""
    created_at: datetime


def manifest_of(directory: Path) -> dict[str, StoreEntry]:
    """The stores listed in a directory's manifest (empty when it has none)."""
    path = directory / MANIFEST_NAME
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {name: StoreEntry.model_validate(entry) for name, entry in raw.items()}
    except (ValueError, AttributeError, UnicodeDecodeError) as exc:
        raise StateError(
            f"{path} (the list of stores Lotsen created here) is corrupt ({exc}); "
            "restore it from a backup (`lotsen state restore`)"
        ) from exc


def is_blank(path: Path) -> str | None:
    """`missing` or `empty` when a store at `path` holds nothing, else None."""
    if not path.exists():
        return "missing"
    if path.is_dir():
        return None if any(path.iterdir()) else "empty"
    return None if path.stat().st_size > 0 else "empty"


def expect_store(path: Path, kind: str) -> bool:
    """Refuse a listed store that is missing or empty; return whether it is listed.

    Raises:
        StateError: the manifest lists `path` and it is now missing or empty.
    """
    entry = manifest_of(path.parent).get(path.name)
    if entry is None:
        return False
    blank = is_blank(path)
    if blank is not None:
        raise lost_store(path, entry, blank)
    return True


def refuse_emptied(path: Path | str, kind: str, *, listed: bool, has_tables: bool) -> None:
    """Refuse a listed store whose tables are gone (a blank file where data was).

    Raises:
        StateError: `listed` and not `has_tables`.
    """
    if listed and not has_tables:
        raise StateError(f"{path} lost its {kind} tables; {RESTORE_HINT}")


def lost_store(path: Path, entry: StoreEntry, what: str) -> StateError:
    """The error for a store Lotsen created that is now `what` (missing, empty, ...)."""
    return StateError(
        f"{path} ({entry.kind}, created {entry.created_at:%Y-%m-%d %H:%M} UTC) is {what}; "
        "Lotsen does not silently recreate it. Restore it from a backup "
        f"(`lotsen state restore BACKUP`), or start it anew, losing what it held, with "
        f"`lotsen state init --store {path}`"
    )


def record_store(path: Path, kind: str) -> None:
    """List `path` as a store Lotsen created (no-op when already listed)."""
    with _locked(path.parent):
        entries = manifest_of(path.parent)
        if path.name in entries:
            return
        entries[path.name] = StoreEntry(kind=kind, created_at=datetime.now(UTC))
        _write(path.parent, entries)


def forget_store(path: Path) -> StoreEntry | None:
    """Drop `path` from its manifest (before starting it anew); the old entry, if any."""
    with _locked(path.parent):
        entries = manifest_of(path.parent)
        entry = entries.pop(path.name, None)
        if entry is not None:
            _write(path.parent, entries)
        return entry


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / _LOCK_NAME).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write(directory: Path, entries: dict[str, StoreEntry]) -> None:
    path = directory / MANIFEST_NAME
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    data = {name: entry.model_dump(mode="json") for name, entry in sorted(entries.items())}
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
