"""A database error from a damaged store, said as one line naming the store, not a traceback."""

import sqlite3

from pydantic import ValidationError

from lotsen.cli.context import load_settings
from tools.errors import LotsenError
from world.state_admin import check_stores, shown

_STORAGE_MODULES = ("duckdb", "_duckdb", "chromadb")


def is_storage_error(exc: BaseException) -> bool:
    """Whether `exc` comes from a database library reading a store (damage, not a bug)."""
    return isinstance(exc, sqlite3.DatabaseError) or type(exc).__module__.startswith(
        _STORAGE_MODULES
    )


def damaged_state(exc: BaseException) -> str:
    """What is damaged (from `state check`) and what to do."""
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    try:
        data_dir = load_settings().data_dir
        bad = [s for s in check_stores(data_dir) if s.condition != "ok"]
    except (LotsenError, ValidationError, OSError):
        bad, data_dir = [], None
    if not bad or data_dir is None:
        return f"a state store failed to read ({first}); run `lotsen state check`"
    names = "; ".join(f"{shown(s.path, data_dir)} is {s.condition} ({s.detail})" for s in bad)
    return (
        f"{names}. Restore from a backup (`lotsen state restore BACKUP`) or start the store "
        "anew (`lotsen state init --store PATH`)"
    )
