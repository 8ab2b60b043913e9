"""Personal data: how a column declared personal is masked, wherever the platform stores it.

A silver spec declares a rule per personal column (`Column(..., pii=...)`); a reference table's
`_table.yaml` and a registered dataset's spec mark columns by the same rules, written as text
(`parse_marks`):

* `Pseudonymise()`: HMAC-SHA256 of the cleaned value with the secret `DATAPLATFORM_PII_SECRET`.
  The same value gives the same pseudonym on every day, in every run and every table keyed
  with the same secret, so joins and counts of distinct people still work; without the secret
  nobody can recompute a pseudonym from a guessed address (a plain hash of an e-mail can be).
* `Partial(keep_start, keep_end)`: stars in place of the middle, for display ("J****").
* `Drop()`: the column does not reach silver at all.

The rule runs in the DuckDB query that writes silver and its quarantine, so the value in clear
never leaves the bronze layer; reference files and datasets are masked by the same SQL as they
are stored (`masked_star`, `masked_stream`), so one value gives one pseudonym in silver, in a
reference table and in a dataset keyed with the same secret, and joins across them match. The
secret reaches DuckDB as two bound variables (the HMAC's inner and outer padded keys,
`bind_secret`), never as text of a query, a log line or metadata.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from dataplatform.engine.identifiers import quote

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

SECRET_VARIABLE = "DATAPLATFORM_PII_SECRET"
_BLOCK = 64  # SHA-256's block size in bytes: the HMAC key is padded to it


class MissingSecret(ValueError):
    """A column is declared to need the pseudonymisation secret and none is set."""


class BadMark(ValueError):
    """A column marked personal by a rule the platform does not know, or that the data lacks."""


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


RULE_NAMES: dict[str, type[PiiRule]] = {"pseudonymise": Pseudonymise, "partial": Partial, "drop": Drop}
_USAGE = "use pseudonymise, partial, drop or {partial: {keep_start: 1, keep_end: 0}}"


def parse_marks(raw: object, where: str) -> dict[str, PiiRule]:
    """The rules of a `personal:` mapping as a user writes it in YAML (column -> rule), e.g.

        personal: {email: pseudonymise, name: partial, phone: {partial: {keep_start: 0, keep_end: 4}}, address: drop}

    `partial` alone keeps the first character. `where` names the file or spec in the error."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise BadMark(f"{where}: personal must map column names to rules ({_USAGE})")
    return {
        str(column): _rule(value, f"{where}: personal column {column!r}") for column, value in raw.items()
    }


def _rule(value: object, where: str) -> PiiRule:
    if isinstance(value, str) and value in RULE_NAMES:
        return RULE_NAMES[value]()
    if isinstance(value, Mapping) and list(value) == ["partial"]:
        options = value["partial"] or {}
        counts = isinstance(options, Mapping) and set(options) <= {"keep_start", "keep_end"}
        if counts and all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in options.values()
        ):
            return Partial(**options)
    raise BadMark(f"{where}: {value!r} is not a rule; {_USAGE}")


def mark_text(rule: PiiRule) -> str | dict[str, dict[str, int]]:
    """A rule as `parse_marks` reads it back: what a spec file stores."""
    if isinstance(rule, Partial) and rule != Partial():
        return {"partial": {"keep_start": rule.keep_start, "keep_end": rule.keep_end}}
    return next(name for name, kind in RULE_NAMES.items() if isinstance(rule, kind))


def pseudonymised(rules: Mapping[str, PiiRule]) -> list[str]:
    """The columns whose rule needs `DATAPLATFORM_PII_SECRET`."""
    return [column for column, rule in rules.items() if rule.needs_secret]


def missing_secret(needing: Sequence[str]) -> str:
    """What to say when `needing` (columns, as the user knows them) are pseudonymised without a secret."""
    return (
        f"{SECRET_VARIABLE} is not set (16 characters or more): {', '.join(needing)} "
        f"{'is' if len(needing) == 1 else 'are'} pseudonymised with it"
    )


def check_columns(rules: Mapping[str, PiiRule], columns: Sequence[str], where: str) -> None:
    """Refuse marks naming a column the data does not have: a typo would otherwise leave the
    column it meant in clear."""
    unknown = [c for c in rules if c not in columns]
    if unknown:
        raise BadMark(
            f"{where}: personal column{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} not in the data "
            f"(its columns: {', '.join(columns)}); fix the mark or the data"
        )


def bind_secret(con: duckdb.DuckDBPyConnection, secret: str | None, needing: Sequence[str]) -> None:
    """Give `con` the key of the pseudonyms when `needing` (the pseudonymised columns) is not
    empty; without a secret, refuse naming the variable and the columns."""
    if not needing:
        return
    if not secret:
        raise MissingSecret(missing_secret(needing))
    inner, outer = padded_keys(secret)
    con.execute("SET VARIABLE pii_ipad = ?", [inner])
    con.execute("SET VARIABLE pii_opad = ?", [outer])


def masked_star(rules: Mapping[str, PiiRule], excluded: Sequence[str] = ()) -> str:
    """`*` of a relation with its marked columns masked in their places and dropped ones (and
    `excluded`, SQL already quoted) left out, for `SELECT {masked_star(...)} FROM ...`."""
    left_out = [*excluded, *(quote(c) for c, rule in rules.items() if isinstance(rule, Drop))]
    replaced = [masked(c, rule) for c, rule in rules.items() if not isinstance(rule, Drop)]
    return (
        "*"
        + (f" EXCLUDE ({', '.join(left_out)})" if left_out else "")
        + (f" REPLACE ({', '.join(replaced)})" if replaced else "")
    )


@contextmanager
def masked_stream(
    reader: pa.RecordBatchReader, rules: Mapping[str, PiiRule], secret: str | None, where: str
) -> Iterator[pa.RecordBatchReader]:
    """`reader`'s batches with the marked columns masked (as text) and dropped ones left out,
    while the block is open. Only the marked columns pass through DuckDB, batch by batch: the
    others keep their exact Arrow types and buffers."""
    import pyarrow as pa

    from dataplatform.engine.sql import connect

    check_columns(rules, reader.schema.names, where)
    if not rules:
        yield reader
        return
    kept = [f if f.name not in rules else pa.field(f.name, pa.string()) for f in reader.schema]
    schema = pa.schema([f for f in kept if not isinstance(rules.get(f.name), Drop)])
    select = ", ".join(masked(c, rule) for c, rule in rules.items() if not isinstance(rule, Drop))
    with connect() as con:
        bind_secret(con, secret, [f"{where}.{c}" for c in pseudonymised(rules)])

        def batches() -> Iterator[pa.RecordBatch]:
            for batch in reader:
                con.register("batch", batch)
                # a projection keeps the rows' order (DuckDB preserves insertion order)
                done = con.execute(f"SELECT {select} FROM batch").to_arrow_table() if select else None
                con.unregister("batch")
                yield pa.RecordBatch.from_arrays(
                    [batch.column(f.name) if f.name not in rules else _array(done, f) for f in schema],
                    schema=schema,
                )

        yield pa.RecordBatchReader.from_batches(schema, batches())


def _array(table: pa.Table, field: pa.Field) -> pa.Array:
    """One column of a query's answer as a single array of `field`'s type."""
    return table.column(field.name).combine_chunks().cast(field.type)
