"""What anchors the audit log outside its own file: a signing key and head witnesses.

The hash chain alone proves nothing against someone who can write the file: they can
truncate it, delete it, or rewrite every hash. So each record is also signed (HMAC-SHA256
over its hash) with a key kept outside the data directory, and after every append the head
(record count and hash) is written to two witness files: one next to the log, one next to
the key. A witness is signed too, so it cannot be forged without the key; the one next to
the key is also out of reach of whoever can write the data directory.
"""

import hashlib
import hmac
import json
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ValidationError

from tools.errors import ConfigError

KEY_BYTES = 32
_MIN_KEY_BYTES = 16

logger = logging.getLogger(__name__)


def default_key_file() -> Path:
    """`$XDG_CONFIG_HOME/lotsen/audit.key`, else `~/.config/lotsen/audit.key`."""
    config = os.environ.get("XDG_CONFIG_HOME")
    base = Path(config) if config else Path.home() / ".config"
    return base / "lotsen" / "audit.key"


@dataclass(frozen=True)
class AuditKey:
    """The secret that signs records and witnesses, and its public id."""

    secret: bytes
    path: Path

    @property
    def id(self) -> str:
        """First 16 hex digits of the key's SHA-256: names the key without revealing it."""
        return hashlib.sha256(self.secret).hexdigest()[:16]

    def sign(self, message: str) -> str:
        """HMAC-SHA256 of `message`, hex."""
        return hmac.new(self.secret, message.encode(), hashlib.sha256).hexdigest()

    def verifies(self, message: str, sig: str) -> bool:
        """Whether `sig` is this key's signature of `message`."""
        return hmac.compare_digest(self.sign(message), sig)

    @classmethod
    def load(cls, path: Path) -> "AuditKey":
        """Read the key file, creating it (32 random bytes, mode 0600) on first use.

        Raises:
            ConfigError: the file exists but cannot be read or is too short to be a key.
        """
        if not path.exists():
            _create(path)
        try:
            secret = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read the audit key {path} ({exc})") from exc
        if len(secret) < _MIN_KEY_BYTES:
            raise ConfigError(
                f"the audit key {path} holds {len(secret)} bytes, not a key; restore it from "
                "your backup (or set LOTSEN_AUDIT_KEY_FILE)"
            )
        if path.stat().st_mode & 0o077:
            logger.warning("the audit key %s is readable by others; chmod 600 it", path)
        return cls(secret, path)


def _create(path: Path) -> None:
    """Write a new key; of two processes creating it at once, the first link wins."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, secrets.token_bytes(KEY_BYTES))
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)
        logger.warning("created the audit signing key %s: keep it, and back it up", path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()


def external_witness(key_file: Path, data_dir: Path) -> Path:
    """The witness of one data dir's log kept next to the key, out of the data dir."""
    name = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:16]
    return key_file.parent / "witness" / f"{name}.json"


def local_witness(db: Path) -> Path:
    """The witness kept next to the log file (`audit.db` -> `audit.head.json`)."""
    return db.with_name(f"{db.stem}.head.json")


class Head(BaseModel):
    """The head of the log: how many records it has and the hash of the last."""

    records: int
    head: str
    key_id: str


class Witness(Head):
    """A head written down outside the log's table, signed with the key."""

    at: datetime
    data_dir: str
    sig: str = ""

    def payload(self) -> str:
        """What the signature covers: every field but the signature, canonical JSON."""
        return json.dumps(
            self.model_dump(mode="json", exclude={"sig"}), sort_keys=True, separators=(",", ":")
        )


@dataclass(frozen=True)
class WitnessRead:
    """A witness file as found: absent, unusable (`problem`), or a witness to compare."""

    path: Path
    witness: Witness | None = None
    problem: str = ""

    @property
    def missing(self) -> bool:
        """No file at all."""
        return self.witness is None and not self.problem


def read_witness(path: Path, key: AuditKey) -> WitnessRead:
    """Read and check a witness file (never raises for its content)."""
    try:
        raw = path.read_text()
    except FileNotFoundError:
        return WitnessRead(path)
    except OSError as exc:
        return WitnessRead(path, problem=f"the witness {path} cannot be read ({exc})")
    try:
        witness = Witness.model_validate_json(raw)
    except ValidationError:
        return WitnessRead(path, problem=f"the witness {path} is malformed")
    if witness.key_id != key.id:
        return WitnessRead(
            path,
            problem=f"the witness {path} is signed with key {witness.key_id}, this key is {key.id}",
        )
    if not key.verifies(witness.payload(), witness.sig):
        return WitnessRead(path, problem=f"the witness {path} has a wrong signature (forged)")
    return WitnessRead(path, witness)


def write_witness(path: Path, head: Head, key: AuditKey, at: datetime, data_dir: Path) -> None:
    """Replace the witness atomically (a reader sees the old one or the new one)."""
    witness = Witness(**head.model_dump(), at=at, data_dir=str(data_dir.resolve()))
    witness.sig = key.sign(witness.payload())
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(witness.model_dump_json(indent=2) + "\n")
    os.replace(tmp, path)
