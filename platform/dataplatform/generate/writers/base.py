"""The generator's writer: a storage backend's store on an output folder, and the check that
refuses an output whose tables do not match what is generated before anything is written."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, cast

import pyarrow as pa

from dataplatform.generate.export import PARTITION_COLUMN, GenerateError
from dataplatform.storage.contract import Slice, StorageError, TableName, TableStore

if TYPE_CHECKING:
    from dataplatform.storage.backends import WriteOptions

# what a generator delivers is what the landing layer receives: an output holds that layer
LAYER = "landing"


class OutputStore(TableStore, Protocol):
    """A store a writer can use: one that says where a table's files go (the backends marked
    `output` in the registry), so files it does not know there are refused, not written over."""

    def uri(self, table: TableName) -> str: ...


class Writer:
    """Writes a domain's tables through the store of `backend` opened on `output`, one partition
    (or one whole master table) per call."""

    def __init__(self, backend: str, output: str, data_dir: Path, options: WriteOptions) -> None:
        from dataplatform.storage.backends import Place, open_place

        self.backend = backend
        with _refused():
            store = open_place(backend, Place(data_dir, output, layer=LAYER, options=options))
        self.store = cast("OutputStore", store)

    def check(self, domain: str, schemas: dict[str, pa.Schema]) -> None:
        """Refuse, before anything is written, an output whose tables hold other columns or types."""
        for table, schema in schemas.items():
            existing = self.existing_schema(domain, table)
            if existing is not None:
                problem = _difference(existing, schema)
                if problem:
                    raise GenerateError(
                        f"{self.location(domain, table)} already holds a table that does not match "
                        f"{domain}.{table}: {problem}; write to another output or remove it"
                    )

    def location(self, domain: str, table: str) -> str:
        """Where the table lives, for messages."""
        return self.store.location(TableName(LAYER, domain, table))

    def existing_schema(self, domain: str, table: str) -> pa.Schema | None:
        """The stored table's schema (with its partition column), or None if there is none; a
        folder holding files that are no table of this writer is refused, not written over."""
        from dataplatform.storage.lake import holds_files

        name = TableName(LAYER, domain, table)
        with _refused():
            if self.store.exists(name):
                return self.store.schema(name)
            folder = self.store.uri(name)
            if holds_files(folder):
                raise GenerateError(
                    f"{folder} holds files that the {self.backend} output does not know: "
                    "write to another output or remove them"
                )
        return None

    def write(self, domain: str, table: str, data: pa.Table, partition: Slice | None) -> None:
        """Replace `partition` of the table (the whole table if None) with `data`."""
        with _refused():
            self.store.write(TableName(LAYER, domain, table), data, partition)


@contextmanager
def _refused() -> Iterator[None]:
    """A storage refusal (a missing bucket, an option the format lacks) as the generator's."""
    try:
        yield
    except StorageError as error:
        raise GenerateError(str(error)) from None


def _difference(existing: pa.Schema, wanted: pa.Schema) -> str | None:
    have = {f.name: _canonical(f.type) for f in existing}
    want = {f.name: _canonical(f.type) for f in wanted}
    for name, kind in want.items():
        if name in have and have[name] != kind:
            return f"column {name!r} is {have[name]} there, {kind} here"
    if PARTITION_COLUMN in want and PARTITION_COLUMN not in have:
        return f"it is not partitioned by {PARTITION_COLUMN}"
    missing = [name for name in want if name not in have]
    if missing:
        return f"it has no column {', '.join(map(repr, missing))}"
    extra = sorted(set(have) - set(want))
    return f"it has other columns: {', '.join(extra)}" if extra else None


def _canonical(kind: pa.DataType) -> str:
    """A type as every format reports it back: string flavours, and UTC spelled one way."""
    if pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        kind = pa.string()
    if pa.types.is_timestamp(kind):
        kind = pa.timestamp("us", "UTC" if kind.tz in ("UTC", "+00:00", "Etc/UTC") else kind.tz)
    return str(kind)
