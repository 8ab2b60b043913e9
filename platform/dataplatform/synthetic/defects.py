"""Deliberate defects, injected into clean generated tables and recorded one row per defect.

The record is the ground truth that silver's cleaning is scored against, so every injection
writes exactly what it changed: which table, which row (by business key), which column, which
kind. Injection works on whole columns with numpy index arrays; there is no per-row loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

DEFECT_SCHEMA = pa.schema(
    [
        ("table", pa.string()),
        ("partition_date", pa.date32()),
        ("kind", pa.string()),
        ("key", pa.string()),
        ("column", pa.string()),
    ]
)


@dataclass
class DefectLog:
    """Collects defect records for one generated batch."""

    partition_date: date | None
    _parts: list[pa.Table] = field(default_factory=list)

    def record(self, table: str, kind: str, keys: pa.Array, column: str | None) -> None:
        n = len(keys)
        if n == 0:
            return
        self._parts.append(
            pa.table(
                {
                    "table": pa.repeat(pa.scalar(table, pa.string()), n),
                    "partition_date": pa.repeat(pa.scalar(self.partition_date, pa.date32()), n),
                    "kind": pa.repeat(pa.scalar(kind, pa.string()), n),
                    "key": pc.cast(keys, pa.string()),
                    "column": pa.repeat(pa.scalar(column, pa.string()), n),
                },
                schema=DEFECT_SCHEMA,
            )
        )

    def to_table(self) -> pa.Table:
        if not self._parts:
            return DEFECT_SCHEMA.empty_table()
        return pa.concat_tables(self._parts)


class DefectInjector:
    """Applies defects to one table, each row hit at most once so records stay unambiguous."""

    def __init__(
        self,
        table: pa.Table,
        *,
        name: str,
        key: str | tuple[str, ...],
        rate: float,
        rng: np.random.Generator,
        log: DefectLog,
        taken: np.ndarray | None = None,
    ) -> None:
        """`taken` marks rows that already carry a defect injected elsewhere."""
        self.table = table
        self.name = name
        self.key = key
        self.rate = rate
        self.rng = rng
        self.log = log
        self._free = np.ones(table.num_rows, dtype=bool) if taken is None else ~taken

    def pick(self, share: float) -> np.ndarray:
        """Row positions for one defect kind: `share` of the defect rate, untouched rows only."""
        expected = self.table.num_rows * self.rate * share
        n = min(int(self.rng.poisson(expected)), int(self._free.sum()))
        if n == 0:
            return np.empty(0, dtype=np.int64)
        # Defects touch a few percent of rows: draw some more positions than needed among all
        # rows and keep the first n still free, instead of listing every free row per pick.
        total = len(self._free)
        drawn = self.rng.choice(total, size=min(total, 2 * n + 16), replace=False)
        free = drawn[self._free[drawn]]
        if len(free) < n:
            free = self.rng.choice(np.flatnonzero(self._free), size=n, replace=False)
        rows = np.sort(free[:n])
        self._free[rows] = False
        return rows

    def keys_at(self, rows: np.ndarray) -> pa.Array:
        columns = [self.key] if isinstance(self.key, str) else list(self.key)
        return key_text(self.table.select(columns).take(pa.array(rows)), self.key)

    def set_null(self, column: str, share: float, kind: str = "null_required") -> None:
        rows = self.pick(share)
        self._set_at(column, rows, pa.nulls(len(rows), self.table.schema.field(column).type))
        self.log.record(self.name, kind, self.keys_at(rows), column)

    def replace_values(self, column: str, share: float, kind: str, make) -> None:
        """Overwrite `column` at chosen rows with `make(old_values, rng)` (same length)."""
        rows = self.pick(share)
        old = self.table.column(column).take(pa.array(rows)).to_numpy(zero_copy_only=False)
        self._set_at(column, rows, pa.array(make(old, self.rng)))
        self.log.record(self.name, kind, self.keys_at(rows), column)

    def swap(self, first: str, second: str, share: float, kind: str) -> None:
        """Exchange two columns' values at chosen rows (a high below its low, a crossed quote)."""
        rows = self.pick(share)
        index = pa.array(rows)
        a, b = self.table.column(first).take(index), self.table.column(second).take(index)
        differ = pc.fill_null(pc.not_equal(a, b), False).to_numpy(zero_copy_only=False)
        rows, a, b = rows[differ], a.filter(differ), b.filter(differ)  # equal values: nothing to break
        self._set_at(first, rows, b.combine_chunks())
        self._set_at(second, rows, a.combine_chunks())
        self.log.record(self.name, kind, self.keys_at(rows), f"{first},{second}")

    def mangle_case(self, columns: Sequence[str], share: float) -> None:
        """Inconsistent case and stray whitespace, as hand-keyed source systems deliver them."""
        rows = self.pick(share)
        which = self.rng.integers(0, len(columns), size=len(rows))
        for i, column in enumerate(columns):
            hit = rows[which == i]
            old = self.table.column(column).take(pa.array(hit))
            self._set_at(column, hit, _mangled(old, self.rng))
            self.log.record(self.name, "inconsistent_categorical", self.keys_at(hit), column)

    def duplicate(self, share: float, *, near_columns: Sequence[str] = ()) -> None:
        """Append copies of chosen rows; with `near_columns`, copies differ in case/whitespace."""
        copies = self.copies(share, near_columns=near_columns)
        if copies.num_rows:
            self.table = pa.concat_tables([self.table, copies])
            self._free = np.concatenate([self._free, np.zeros(copies.num_rows, dtype=bool)])

    def copies(self, share: float, *, near_columns: Sequence[str] = ()) -> pa.Table:
        """Copies of chosen rows, recorded as duplicates, for the caller to deliver after the rows
        they copy: appended here (`duplicate`), or with a later part of the day, as a source that
        sends rows again does (`EcommerceGenerator.day_chunks`)."""
        rows = self.pick(share)
        copies = self.table.take(pa.array(rows))
        if len(rows) == 0:
            return copies
        for column in near_columns:
            index = copies.schema.get_field_index(column)
            copies = copies.set_column(index, column, _mangled(copies.column(column), self.rng))
        kind = "near_duplicate" if near_columns else "exact_duplicate"
        self.log.record(self.name, kind, key_text(copies, self.key), None)
        return copies

    def _set_at(self, column: str, rows: np.ndarray, values: pa.Array) -> None:
        """Put `values` (one per row, in row order) into `column` at the sorted positions `rows`."""
        if len(rows) == 0:
            return
        current = self.table.column(column).combine_chunks()
        values = values.cast(current.type)
        if pa.types.is_integer(current.type) or pa.types.is_floating(current.type):
            # numpy assignment is several times faster than Arrow's replace_with_mask here
            data = current.fill_null(0).to_numpy().copy() if current.null_count else current.to_numpy().copy()
            data[rows] = values.fill_null(0).to_numpy() if values.null_count else values.to_numpy()
            mask = None
            if current.null_count or values.null_count:
                mask = current.is_null().to_numpy(zero_copy_only=False).copy()
                mask[rows] = values.is_null().to_numpy(zero_copy_only=False)
            self._replace(column, pa.array(data, current.type, mask=mask))
            return
        # text: point the changed rows at the new values appended after the column
        positions = np.arange(self.table.num_rows)
        positions[rows] = self.table.num_rows + np.arange(len(rows))
        self._replace(column, pa.concat_arrays([current, values]).take(pa.array(positions)))

    def _replace(self, column: str, values) -> None:
        index = self.table.schema.get_field_index(column)
        self.table = self.table.set_column(index, self.table.schema.field(index), values)


def key_text(table: pa.Table, key: str | tuple[str, ...]) -> pa.Array:
    """The business key of each row as text; compound keys joined with '|'.

    Timestamps are written in microseconds whatever their unit, so a key reads the same in the
    generator's output and after storage (which keeps microseconds) when defects are scored.
    """
    columns = (key,) if isinstance(key, str) else key
    texts = [pc.cast(_in_microseconds(table.column(c)), pa.string()) for c in columns]
    joined = texts[0] if len(texts) == 1 else pc.binary_join_element_wise(*texts, "|")
    return joined.combine_chunks() if isinstance(joined, pa.ChunkedArray) else joined


def _in_microseconds(column):
    kind = column.type
    return column.cast(pa.timestamp("us", kind.tz)) if pa.types.is_timestamp(kind) else column


def _mangled(values: pa.Array | pa.ChunkedArray, rng: np.random.Generator) -> pa.Array:
    """Upper-case, title-case with a leading space, or trailing spaces; never the value unchanged."""
    text = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    padded = pc.binary_join_element_wise(text, "  ", "")
    variants = [pc.utf8_upper(text), pc.binary_join_element_wise(" ", pc.utf8_title(text), ""), padded]
    styles = pa.array(rng.integers(0, len(variants), size=len(text)), pa.int8())
    chosen = pc.choose(styles, *variants)
    unchanged = pc.fill_null(pc.equal(chosen, text), False)
    return pc.if_else(unchanged, padded, chosen)
