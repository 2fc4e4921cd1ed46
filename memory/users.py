"""Who may act: named users with roles, from a local users file (shared by CLI and service).

A name is normalised once (Unicode NFKC, surrounding whitespace dropped, case-folded) and
must look like a login (letters, digits, `.`, `_`, `-`, `@`), so `Alice`, ` alice ` and
`ALICE` are one person and "alice bob" is nobody. Roles: `viewer` reads; `operator` also
runs agents and proposes changes; `approver` also approves or rejects; `admin` may do
everything, including managing users. Passwords (for the service) are stored as bcrypt
hashes only.

Without a users file, the CLI runs as a single local operator (the embedded demo): any
well-formed name is accepted with every role. Once `lotsen users add` has written the file,
only the users it lists can act, each within their roles.
"""

import hashlib
import hmac
import os
import re
import secrets
import unicodedata
from datetime import datetime
from pathlib import Path
from typing import Literal

import bcrypt
import yaml
from pydantic import BaseModel, Field, ValidationError

from tools.errors import ConfigError

Role = Literal["viewer", "operator", "approver", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "operator", "approver", "admin")
_NAME = re.compile(r"[a-z0-9][a-z0-9._@-]{0,63}")
_GRANTS: dict[Role, set[Role]] = {
    "viewer": {"viewer"},
    "operator": {"viewer", "operator"},
    "approver": {"viewer", "approver"},
    "admin": set(ROLES),
}


def normalise(name: str) -> str:
    """The canonical form of a user name.

    Raises:
        ConfigError: empty, or not a login-like name.
    """
    canonical = unicodedata.normalize("NFKC", name).strip().casefold()
    if not _NAME.fullmatch(canonical):
        raise ConfigError(
            f"{name!r} is not a valid user name: use 1-64 letters, digits, '.', '_', '-' or "
            "'@', starting with a letter or digit"
        )
    return canonical


TOKEN_PREFIX = "lotsen_"


def grants(roles: "list[Role] | frozenset[str]", role: str) -> bool:
    """Whether one of `roles` grants `role` (admin grants all; approver and operator read)."""
    return any(role in _GRANTS[own] for own in roles if own in _GRANTS)


class ApiToken(BaseModel):
    """An API token of a user, stored as its SHA-256 (the token itself is shown once)."""

    id: str
    sha256: str
    created: datetime


class User(BaseModel):
    """One person (or service account) and what they may do."""

    name: str
    roles: list[Role] = Field(min_length=1)
    password_hash: str | None = None
    """bcrypt hash; None = no password login (CLI-only identity)."""
    tokens: list[ApiToken] = Field(default_factory=list)
    """API tokens (`lotsen users token NAME`), hashed."""

    def may(self, role: Role) -> bool:
        """Whether one of this user's roles grants `role`."""
        return grants(self.roles, role)

    def check_password(self, password: str) -> bool:
        """Whether `password` matches (False when the user has none)."""
        if self.password_hash is None:
            return False
        return bcrypt.checkpw(_password_bytes(password), self.password_hash.encode())


class UsersFile(BaseModel):
    """The users file's content."""

    users: list[User] = Field(default_factory=list)


class UserDirectory:
    """The users file: read on open, written atomically."""

    def __init__(self, path: Path) -> None:
        """Read `path` (a missing file means no users are configured yet).

        Raises:
            ConfigError: the file is unreadable or malformed.
        """
        self.path = path
        self._users: dict[str, User] = {}
        if path.exists():
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
                parsed = UsersFile.model_validate(data)
            except (OSError, UnicodeDecodeError, yaml.YAMLError, ValidationError) as exc:
                first = str(exc).splitlines()[0]
                raise ConfigError(f"{path} is not a valid users file ({first})") from None
            self._users = {normalise(u.name): u for u in parsed.users}

    @property
    def configured(self) -> bool:
        """Whether any user is listed (else the CLI runs as a single local operator)."""
        return bool(self._users)

    def users(self) -> list[User]:
        """Every user, by name."""
        return [self._users[name] for name in sorted(self._users)]

    def get(self, name: str) -> User | None:
        """The user of that name (normalised), if listed."""
        return self._users.get(normalise(name))

    def authorise(self, name: str, role: Role) -> str:
        """The canonical name of a user allowed to act as `role`.

        Raises:
            ConfigError: the name is malformed, unknown here, or lacks the role.
        """
        canonical = normalise(name)
        if not self.configured:
            return canonical
        user = self._users.get(canonical)
        if user is None:
            raise ConfigError(
                f"unknown user {canonical!r}: {self.path} lists "
                f"{', '.join(sorted(self._users))}; an admin adds users with `lotsen users add`"
            )
        if not user.may(role):
            raise ConfigError(
                f"{canonical} ({', '.join(user.roles)}) may not act as {role}; "
                f"an admin can grant it with `lotsen users add {canonical} --role {role}`"
            )
        return canonical

    def put(self, name: str, roles: list[Role], password: str | None = None) -> User:
        """Add or replace a user (keeping their password unless a new one is given)."""
        canonical = normalise(name)
        old = self._users.get(canonical)
        hashed = old.password_hash if old else None
        if password is not None:
            hashed = bcrypt.hashpw(_password_bytes(password), bcrypt.gensalt()).decode()
        user = User(
            name=canonical,
            roles=sorted(set(roles), key=ROLES.index),
            password_hash=hashed,
            tokens=old.tokens if old else [],
        )
        self._users[canonical] = user
        self._save()
        return user

    def issue_token(self, name: str, now: datetime) -> str:
        """A new API token for a listed user (returned once; only its hash is kept).

        Raises:
            ConfigError: unknown user.
        """
        canonical = normalise(name)
        user = self._users.get(canonical)
        if user is None:
            raise ConfigError(f"unknown user {canonical!r}; add them first (`lotsen users add`)")
        token_id = secrets.token_hex(4)
        token = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
        record = ApiToken(id=token_id, sha256=_sha256(token), created=now)
        self._users[canonical] = user.model_copy(update={"tokens": [*user.tokens, record]})
        self._save()
        return token

    def by_token(self, token: str) -> User | None:
        """The user an API token belongs to (None: unknown or malformed token)."""
        if not token.startswith(TOKEN_PREFIX):
            return None
        digest = _sha256(token)
        for user in self._users.values():
            if any(hmac.compare_digest(t.sha256, digest) for t in user.tokens):
                return user
        return None

    def remove(self, name: str) -> None:
        """Drop a user.

        Raises:
            ConfigError: unknown user.
        """
        canonical = normalise(name)
        if self._users.pop(canonical, None) is None:
            raise ConfigError(f"unknown user {canonical!r}")
        self._save()

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = UsersFile(users=self.users()).model_dump(mode="json", exclude_none=True)
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        tmp.chmod(0o600)
        os.replace(tmp, self.path)


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _password_bytes(password: str) -> bytes:
    raw = password.encode()
    if not 8 <= len(raw) <= 72:
        raise ConfigError("a password must be 8 to 72 bytes long (bcrypt's limit)")
    return raw
