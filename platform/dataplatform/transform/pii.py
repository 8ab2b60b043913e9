"""Personal data in silver: how a column declared personal is masked, and what a leak looks like.

A silver spec declares a rule per personal column (`Column(..., pii=...)`):

* `Pseudonymise()`: HMAC-SHA256 of the cleaned value with the secret `DATAPLATFORM_PII_SECRET`.
  The same value gives the same pseudonym on every day, in every run and every table keyed
  with the same secret, so joins and counts of distinct people still work; without the secret
  nobody can recompute a pseudonym from a guessed address (a plain hash of an e-mail can be).
* `Partial(keep_start, keep_end)`: stars in place of the middle, for display ("J****").
* `Drop()`: the column does not reach silver at all.

The rule runs in the DuckDB query that writes silver and its quarantine, so the value in clear
never leaves the bronze layer. The secret reaches DuckDB as two bound variables (the HMAC's
inner and outer padded keys), never as text of a query, a log line or metadata.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from dataplatform.transform.sql import quote

SECRET_VARIABLE = "DATAPLATFORM_PII_SECRET"
_BLOCK = 64  # SHA-256's block size in bytes: the HMAC key is padded to it


class MissingSecret(ValueError):
    """A column is declared to need the pseudonymisation secret and none is set."""


@dataclass(frozen=True)
class Pseudonymise:
    """Keyed hash (HMAC-SHA256, hex) of the value: stable, joinable, not reversible."""

    needs_secret: ClassVar[bool] = True

    def sql(self, value: str) -> str:
        inner = f"unhex(sha256(getvariable('pii_ipad') || encode({value})))"
        return f"sha256(getvariable('pii_opad') || {inner})"


@dataclass(frozen=True)
class Partial:
    """The first `keep_start` and last `keep_end` characters kept, the others starred; a value
    too short to hide anything is starred whole."""

    keep_start: int = 1
    keep_end: int = 0
    needs_secret: ClassVar[bool] = False

    def sql(self, value: str) -> str:
        kept = self.keep_start + self.keep_end
        return (
            f"CASE WHEN length({value}) <= {kept} THEN repeat('*', length({value})) "
            f"ELSE left({value}, {self.keep_start}) || repeat('*', length({value}) - {kept}) "
            f"|| right({value}, {self.keep_end}) END"
        )


@dataclass(frozen=True)
class Drop:
    """The column is left out of silver and of its quarantine."""

    needs_secret: ClassVar[bool] = False

    def sql(self, value: str) -> str:
        raise TypeError("a dropped column has no value")


PiiRule = Pseudonymise | Partial | Drop


def masked(name: str, rule: PiiRule, source: str | None = None) -> str:
    """The select item writing column `name` under `rule`, from `source` (default the column),
    cast to text first: a rule works on the value as people read it."""
    value = f"CAST({source or quote(name)} AS VARCHAR)"
    return f"{rule.sql(value)} AS {quote(name)}"


def padded_keys(secret: str) -> tuple[bytes, bytes]:
    """HMAC's inner and outer keys (RFC 2104) for SHA-256, bound to DuckDB as variables."""
    import hashlib

    key = secret.encode()
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)
