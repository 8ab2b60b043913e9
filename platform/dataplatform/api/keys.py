"""API keys: created by `dataplatform api-key create`, stored as SHA-256 hashes only.

A key reads `dpk_<id>_<secret>`: the id finds the stored entry without a scan, the secret (32
random bytes) is what proves the caller. Only the hash of the whole key is written, so the file
leaks no usable key; the hash is compared with `hmac.compare_digest`, in constant time. A key
carries 32 random bytes, so a fast hash is as safe as a slow one here (slow hashes protect
guessable passwords) and costs microseconds per request instead of tens of milliseconds.

The store is one JSON file (mode 0600) replaced by rename under a lock, so a create or revoke
from the CLI is seen by a running server at its next request (it reloads when the file changes).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from dataplatform import filelock

Scope = Literal["read", "admin"]
SCOPES: tuple[Scope, ...] = ("read", "admin")
PREFIX = "dpk"


class ApiKeyError(ValueError):
    """A key cannot be created or revoked as asked; the message says why."""


@dataclass(frozen=True)
class ApiKey:
    """A stored key: never the key itself, only its hash."""

    id: str
    name: str
    scope: Scope
    sha256: str
    created_at: str
    revoked_at: str | None = None

    def allows(self, needed: Scope) -> bool:
        return self.revoked_at is None and (needed == "read" or self.scope == "admin")

    def shown(self) -> dict[str, str | None]:
        """What `api-key list` and the admin endpoint show: everything but the hash."""
        return {k: v for k, v in asdict(self).items() if k != "sha256"}


class KeyStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._cache: tuple[tuple[int, int, int], dict[str, ApiKey]] | None = None
        self._guard = threading.Lock()

    def create(self, name: str, scope: Scope) -> tuple[ApiKey, str]:
        """A new key: the stored entry and the key itself, which is shown once and never kept."""
        if scope not in SCOPES:
            raise ApiKeyError(f"unknown scope {scope!r}: use {' or '.join(SCOPES)}")
        if not name.strip():
            raise ApiKeyError("give the key a name saying who uses it")
        with self._editing() as keys:
            key_id = secrets.token_hex(4)
            while key_id in keys:
                key_id = secrets.token_hex(4)
            secret = f"{PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
            entry = ApiKey(key_id, name.strip(), scope, _hash(secret), _now())
            keys[key_id] = entry
        return entry, secret

    def revoke(self, key_id: str) -> ApiKey:
        with self._editing() as keys:
            if key_id not in keys:
                raise ApiKeyError(f"no API key {key_id!r}; see `dataplatform api-key list`")
            entry = keys[key_id]
            if entry.revoked_at is None:
                entry = ApiKey(**{**asdict(entry), "revoked_at": _now()})
                keys[key_id] = entry
        return entry

    def list(self) -> list[ApiKey]:
        return sorted(self._load().values(), key=lambda k: k.created_at)

    def verify(self, presented: str) -> ApiKey | None:
        """The key's entry when `presented` is a valid, unrevoked key; None otherwise."""
        parts = presented.split("_", 2)
        if len(parts) != 3 or parts[0] != PREFIX:
            return None
        entry = self._load().get(parts[1])
        if entry is None or entry.revoked_at is not None:
            return None
        return entry if hmac.compare_digest(entry.sha256, _hash(presented)) else None

    def _load(self) -> dict[str, ApiKey]:
        """The keys, read again only when the file changed (a CLI create or revoke)."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return {}
        # every write renames a new file into place: a new inode, whatever the clock's resolution
        version = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        with self._guard:
            if self._cache and self._cache[0] == version:
                return self._cache[1]
            keys = _read(self.path)
            self._cache = (version, keys)
            return keys

    @contextmanager
    def _editing(self) -> Iterator[dict[str, ApiKey]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with filelock.held(self.path.with_name(self.path.name + ".lock")):
            keys = _read(self.path) if self.path.exists() else {}
            yield keys
            partial = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}.tmp")
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump({k: asdict(v) for k, v in keys.items()}, handle, indent=1)
            os.replace(partial, self.path)


def _read(path: Path) -> dict[str, ApiKey]:
    return {key_id: ApiKey(**entry) for key_id, entry in json.loads(path.read_text()).items()}


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()
