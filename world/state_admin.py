"""The data directory as a whole: check every store, back it up, restore it, start a store anew.

Backups copy the data directory while holding its lock exclusively (no command writes
meanwhile), with a `backup.json` of every file's SHA-256. A restore checks those sums first,
moves the current contents aside (never deletes them) and copies the backup in.
"""

import hashlib
import os
import shutil
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from tools.dir_lock import LOCK_NAME, exclusive
from tools.errors import ConfigError
from tools.state_db import is_sqlite
from tools.state_manifest import forget_store, is_blank, manifest_of
from world.settings import Settings

BACKUP_MANIFEST = "backup.json"
_NOT_COPIED = {LOCK_NAME, ".lotsen-stores.lock"}
Condition = Literal["ok", "missing", "empty", "corrupt", "unlisted"]


class StoreStatus(BaseModel):
    """One store's condition."""

    path: Path
    kind: str
    condition: Condition
    detail: str = ""


class BackupInfo(BaseModel):
    """What a backup holds (`backup.json`)."""

    created_at: datetime
    source: str
    files: dict[str, str]
    """Relative path -> SHA-256 of every file copied."""


def store_dirs(data_dir: Path) -> list[Path]:
    """Directories that hold stores: the state dir, the current world, attach mode's own."""
    dirs = [data_dir / "state"]
    world = data_dir / "world"
    if world.exists():
        dirs.append(world.resolve())
    if (data_dir / "attached").is_dir():
        dirs.append(data_dir / "attached")
    return dirs


def check_stores(data_dir: Path) -> list[StoreStatus]:
    """Every store listed in a manifest, and what condition it is in."""
    found = []
    for directory in store_dirs(data_dir):
        for name, entry in sorted(manifest_of(directory).items()):
            path = directory / name
            condition, detail = _condition(path, entry.kind)
            status = StoreStatus(path=path, kind=entry.kind, condition=condition, detail=detail)
            found.append(status)
    return found


def shown(path: Path, data_dir: Path) -> str:
    """A store's path as the user knows it: `world/...` or `state/...` inside the data dir."""
    world = data_dir / "world"
    if world.exists() and path.is_relative_to(world.resolve()):
        return str(Path("world") / path.relative_to(world.resolve()))
    if path.is_relative_to(data_dir):
        return str(path.relative_to(data_dir))
    return str(path)


def _condition(path: Path, kind: str) -> tuple[Condition, str]:
    blank = is_blank(path)
    if blank == "missing":
        return "missing", "listed as created by Lotsen, not on disk"
    if blank == "empty":
        return "empty", "zero bytes where data was"
    if kind == "chroma":
        path = path / "chroma.sqlite3"
    if kind.startswith("lotsen.telemetry"):
        return _duckdb_condition(path)
    return _sqlite_condition(path)


def _sqlite_condition(path: Path) -> tuple[Condition, str]:
    if not path.is_file():
        return "corrupt", f"{path.name} is missing"
    if not is_sqlite(path):
        return "corrupt", "not a SQLite file"
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as conn:
            verdict = conn.execute("PRAGMA quick_check").fetchone()[0]
            tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        return "corrupt", str(exc)
    if verdict != "ok":
        return "corrupt", str(verdict)
    return ("ok", "") if tables else ("empty", "no tables")


def _duckdb_condition(path: Path) -> tuple[Condition, str]:
    import duckdb

    try:
        with duckdb.connect(str(path), read_only=True) as conn:
            tables = [
                t for (t,) in conn.execute("SELECT table_name FROM duckdb_tables()").fetchall()
            ]
            for table in tables:  # read every block: a cut file fails here
                for _ in conn.sql(f'SELECT * FROM "{table}"').to_arrow_reader(65536):
                    pass
    except duckdb.Error as exc:
        if "could not set lock" in str(exc).lower():
            return "ok", "in use by another process (not checked)"
        return "corrupt", str(exc).splitlines()[0]
    return ("ok", "") if tables else ("empty", "no tables")


def backup(settings: Settings, dest: Path) -> BackupInfo:
    """Copy the data directory to `dest` (new or empty) while no command can write.

    Raises:
        ConfigError: `dest` exists and is not empty, or lies inside the data directory.
    """
    source = settings.data_dir.resolve()
    dest = dest.resolve()
    if dest.is_relative_to(source):
        raise ConfigError(f"{dest} is inside the data directory {source}; back up elsewhere")
    if dest.exists() and any(dest.iterdir()):
        raise ConfigError(f"{dest} is not empty; give a new or empty folder")
    if not (source / "state").is_dir() and not (source / "world").exists():
        raise ConfigError(f"{source} holds no Lotsen state to back up")
    with exclusive(source, "back up the data directory", settings.lock_wait_s):
        files = _copy_current(source, dest)
    info = BackupInfo(created_at=datetime.now(UTC), source=str(source), files=files)
    (dest / BACKUP_MANIFEST).write_text(info.model_dump_json(indent=2), encoding="utf-8")
    return info


def _copy_current(source: Path, dest: Path) -> dict[str, str]:
    """Copy state, the current world (as `worlds/<id>` plus the `world` link) and loose files."""
    dest.mkdir(parents=True, exist_ok=True)
    world = source / "world"
    for entry in source.iterdir():
        if entry.name in _NOT_COPIED or entry.name in ("world", "worlds"):
            continue
        target = dest / entry.name
        if entry.is_dir():
            shutil.copytree(entry, target, symlinks=True, ignore=_ignored)
        else:
            shutil.copy2(entry, target)
    if world.is_symlink():
        current = world.resolve()
        shutil.copytree(current, dest / "worlds" / current.name, symlinks=True, ignore=_ignored)
        (dest / "world").symlink_to(Path("worlds") / current.name)
    return {
        str(p.relative_to(dest)): _sha256(p)
        for p in sorted(dest.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def _ignored(_: str, names: list[str]) -> set[str]:
    """Locks, and SQLite's shared-memory index (rebuilt from the WAL on first open)."""
    return {n for n in names if n in _NOT_COPIED or n.endswith("-shm")}


def verify_backup(src: Path) -> BackupInfo:
    """Read a backup's manifest and check every file against its SHA-256.

    Raises:
        ConfigError: not a Lotsen backup, or a file is missing or changed.
    """
    manifest = src / BACKUP_MANIFEST
    if not src.is_dir():
        raise ConfigError(f"{src} is not a folder written by `lotsen state backup`")
    try:
        info = BackupInfo.model_validate_json(manifest.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{src} is not a Lotsen backup (no {BACKUP_MANIFEST})") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{manifest} is corrupt ({exc}); use another backup") from None
    for name, digest in info.files.items():
        path = src / name
        if not path.is_file():
            raise ConfigError(f"backup {src} is incomplete: {name} is missing")
        if _sha256(path) != digest:
            raise ConfigError(f"backup {src} is damaged: {name} changed since the backup")
    return info


def restore(settings: Settings, src: Path, actor: str) -> tuple[BackupInfo, Path]:
    """Replace the data directory's contents by a verified backup; return where the old went.

    The current contents move to `<data_dir>.before-restore-<time>` (nothing is deleted);
    the audit log is re-anchored to the restored head, recorded as done by `actor`.

    Raises:
        ConfigError: the backup does not verify.
    """
    src = src.resolve()
    info = verify_backup(src)
    data_dir = settings.data_dir.resolve()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    aside = data_dir.with_name(f"{data_dir.name}.before-restore-{stamp}")
    with exclusive(data_dir, "restore the data directory", settings.lock_wait_s):
        aside.mkdir()
        for entry in data_dir.iterdir():
            if entry.name not in _NOT_COPIED:
                os.replace(entry, aside / entry.name)
        for entry in src.iterdir():
            if entry.name == BACKUP_MANIFEST:
                continue
            target = data_dir / entry.name
            if entry.is_symlink():
                target.symlink_to(os.readlink(entry))
            elif entry.is_dir():
                shutil.copytree(entry, target, symlinks=True)
            else:
                shutil.copy2(entry, target)
    _reanchor_audit(settings, actor, f"restored the data directory from {src} ({describe(info)})")
    return info, aside


def _reanchor_audit(settings: Settings, actor: str, reason: str) -> None:
    """The audit witnesses remember the replaced log's head: accept the restored one, audited."""
    from world.world import World

    with World(settings) as world:
        if (settings.data_dir / "state" / "audit.db").exists():
            world.audit.reanchor(actor=actor, reason=reason)


def init_store(settings: Settings, store: Path, actor: str) -> Path:
    """Start a lost or broken store anew: move what is left aside and unlist it.

    The next command that needs the store creates it empty. Returns where the remains went
    (the store's own path when nothing was left).

    Raises:
        ConfigError: `store` is not a listed store, or it is healthy.
    """
    path = _listed_path(settings.data_dir, store)
    entry = manifest_of(path.parent)[path.name]
    if _condition(path, entry.kind)[0] == "ok":
        raise ConfigError(f"{path} is healthy; nothing to start anew")
    with exclusive(settings.data_dir, f"start {path.name} anew", settings.lock_wait_s):
        aside = path
        if path.exists():
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            aside = path.with_name(f"{path.name}.broken-{stamp}")
            os.replace(path, aside)
            for suffix in ("-wal", "-shm"):
                side = path.with_name(path.name + suffix)
                if side.exists():
                    os.replace(side, aside.with_name(aside.name + suffix))
        forget_store(path)
    if path.name == "audit.db" and path.parent.name == "state":
        _reanchor_audit(settings, actor, f"audit log started anew; its remains are in {aside}")
    return aside


def _listed_path(data_dir: Path, store: Path) -> Path:
    candidates = [store] if store.is_absolute() else [Path.cwd() / store, data_dir / store]
    for candidate in candidates:
        parent = candidate.parent.resolve()
        if candidate.name in manifest_of(parent):
            return parent / candidate.name
    listed = [str(s.path) for s in check_stores(data_dir)]
    raise ConfigError(
        f"{store} is not a store Lotsen created here; the stores are: {', '.join(listed)}"
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def describe(info: BackupInfo) -> str:
    """One line about a backup."""
    size = sum(1 for _ in info.files)
    return f"{size} files from {info.source} taken {info.created_at:%Y-%m-%d %H:%M} UTC"
