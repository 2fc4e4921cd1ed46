"""The corruption matrix: every state file x zeroed / truncated / garbled / deleted.

Each case must end in a clear one-line error that names the file, exit non-zero, and leave
the damaged file exactly as it was (no silent recreation); `lotsen state check` must name it
too. Then `state backup` / `state restore` and `state init` are shown to lead back.
"""

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import Run, run_lotsen
from world.settings import Settings
from world.world import World


@pytest.fixture
def data(full_world: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(full_world, copy, symlinks=True)
    monkeypatch.setenv("LOTSEN_DATA_DIR", str(copy))
    monkeypatch.setenv("LOTSEN_LOCK_WAIT_S", "2")
    return copy


# store (relative to the data dir) -> the everyday command that needs it
STORES: dict[str, list[str]] = {
    "state/audit.db": ["audit", "verify"],
    "state/approvals.db": ["approvals", "list"],
    "state/incident_memory": ["remediate"],
    "world/mlflow.db": ["models", "list"],
    "world/alias_history.db": ["models", "list"],
    "world/cluster.db": ["cluster", "nodes"],
    "world/fleet.db": ["remediate"],
    "world/telemetry.duckdb": ["scan"],
    "world/remediation.db": ["remediate"],
    "world/checkpoints.db": ["approvals", "approve", "{pending}", "--as", "carol"],
}


def _main_file(path: Path) -> Path:
    """The file inside a store directory (Chroma keeps its data in one SQLite file)."""
    return path / "chroma.sqlite3" if path.is_dir() else path


def _zero(path: Path) -> None:
    """A file of zero bytes; a store directory with nothing in it."""
    if not path.is_dir():
        path.write_bytes(b"")
        return
    for child in path.iterdir():
        if child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()


def _truncate(path: Path) -> None:
    target = _main_file(path)
    size = target.stat().st_size
    with target.open("r+b") as handle:
        handle.truncate(max(size // 3, 200))


def _garble(path: Path) -> None:
    target = _main_file(path)
    raw = bytearray(target.read_bytes())
    for offset in range(0, len(raw), 97):
        raw[offset] ^= 0x5A
    target.write_bytes(bytes(raw))


def _delete(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()


DAMAGE: dict[str, Callable[[Path], None]] = {
    "zero": _zero,
    "truncate": _truncate,
    "garble": _garble,
    "delete": _delete,
}


def _fingerprint(path: Path) -> str:
    if not path.exists():
        return "absent"
    if path.is_file():
        return hashlib.sha256(path.read_bytes()).hexdigest()
    names = sorted(p for p in path.rglob("*") if p.is_file())
    return ",".join(f"{p.relative_to(path)}:{_fingerprint(p)}" for p in names) or "empty dir"


@pytest.mark.parametrize("damage", DAMAGE)
@pytest.mark.parametrize("store", STORES)
def test_damaged_store_is_named_and_left_alone(
    data: Path,
    store: str,
    damage: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pending = json.loads(_lotsen(capsys, monkeypatch, "approvals", "list", "--json")[1])
    command = [a.replace("{pending}", pending[0]["id"]) for a in STORES[store]]
    path = data / store
    if store.endswith(".db") or path.is_dir():
        _flush_wal(_main_file(path))
    DAMAGE[damage](path)
    before = _fingerprint(path)

    code, out, err = _lotsen(capsys, monkeypatch, *command)

    assert code != 0, f"{' '.join(command)} accepted a {damage} {store}: {out}"
    assert "Traceback" not in out + err
    assert Path(store).name in out + err, out + err
    assert _fingerprint(path) == before, f"{store} was rewritten by {' '.join(command)}"
    code, out, _ = _lotsen(capsys, monkeypatch, "state", "check", "--json")
    assert code == 1
    flagged = {s["path"] for s in json.loads(out[: out.rindex("]") + 1]) if s["condition"] != "ok"}
    assert any(Path(p).name == Path(store).name for p in flagged), flagged
    if store == "world/checkpoints.db":
        after = json.loads(_lotsen(capsys, monkeypatch, "approvals", "list", "--json")[1])
        assert after[0]["status"] == "pending", (
            "the approval was recorded for a run it cannot resume"
        )


def _flush_wal(path: Path) -> None:
    """Fold a SQLite file's WAL into it (as a clean shutdown would), so damaging the file
    damages the data."""
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def test_backup_restore_and_init_lead_back(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    backup = tmp_path / "backup"
    assert _lotsen(capsys, monkeypatch, "state", "backup", str(backup))[0] == 0
    listed = _lotsen(capsys, monkeypatch, "approvals", "list", "--json")[1]
    (data / "state" / "approvals.db").unlink()
    assert _lotsen(capsys, monkeypatch, "approvals", "list")[0] != 0

    code, out, _ = _lotsen(capsys, monkeypatch, "state", "restore", str(backup))
    assert code == 0, out
    assert _lotsen(capsys, monkeypatch, "approvals", "list", "--json")[1] == listed
    assert _lotsen(capsys, monkeypatch, "state", "check")[0] == 0
    aside = [p for p in data.parent.iterdir() if ".before-restore-" in p.name]
    assert len(aside) == 1 and not (aside[0] / "state" / "approvals.db").exists()

    (data / "world" / "remediation.db").write_bytes(b"")
    code, _, err = _lotsen(capsys, monkeypatch, "state", "init", "--store", "world/remediation.db")
    assert code == 0, err
    assert _lotsen(capsys, monkeypatch, "state", "check")[0] == 0


def test_a_damaged_backup_is_refused_before_anything_moves(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    backup = tmp_path / "backup"
    assert _lotsen(capsys, monkeypatch, "state", "backup", str(backup))[0] == 0
    victim = backup / "state" / "approvals.db"
    victim.write_bytes(victim.read_bytes()[:-10] + b"0123456789")
    before = _fingerprint(data / "state")
    code, _, err = _lotsen(capsys, monkeypatch, "state", "restore", str(backup))
    assert code == 2 and "approvals.db changed since the backup" in err
    assert _fingerprint(data / "state") == before


def test_init_refuses_a_healthy_store(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = _lotsen(capsys, monkeypatch, "state", "init", "--store", "state/approvals.db")
    assert code == 2 and "healthy" in err


def _lotsen(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str) -> Run:
    return run_lotsen(capsys, monkeypatch, *args)


def test_a_run_whose_checkpoint_is_lost_can_still_be_rejected(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    [request] = json.loads(_lotsen(capsys, monkeypatch, "approvals", "list", "--json")[1])
    (data / "world" / "checkpoints.db").unlink()
    assert _lotsen(capsys, monkeypatch, "state", "init", "--store", "world/checkpoints.db")[0] == 0
    code, _, err = _lotsen(
        capsys, monkeypatch, "approvals", "approve", request["id"], "--as", "eve"
    )
    assert code == 2 and "has no checkpoint" in err and "nothing was recorded" in err
    code, _, err = _lotsen(capsys, monkeypatch, "approvals", "reject", request["id"], "--as", "eve")
    assert code == 0, err
    with World(Settings(data_dir=data)) as world:
        assert world.approvals.get(request["id"]).status == "rejected"
        assert world.runs.run(request["handle"]).status == "rejected"
