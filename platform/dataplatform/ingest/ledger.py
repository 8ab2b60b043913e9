"""The file ledger: one row per file the drop folder ever received, and what became of it.

It is an append-only Delta table beside the reference tables (`reference/files/file_ledger`),
so it keeps its own history and answers the question a partner asks ("did you get my file of
Tuesday, and what did you do with it?") without reading any run log.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import pyarrow as pa

    from dataplatform.storage.delta_store import DeltaStore

Status = Literal["loaded", "duplicate", "rejected", "failed"]  # failed: an attempt that broke; the file waits
LEDGER_TABLE = "file_ledger"


@dataclass(frozen=True)
class LedgerEntry:
    file: str
    table: str
    size: int
    content_hash: str
    status: Status
    moved_to: str  # where the file now lies, relative to the drop folder
    received_at: datetime  # the file's modification time when it was taken
    processed_at: datetime
    format: str | None = None  # the detected format as JSON
    mode: str | None = None
    rows_loaded: int | None = None
    table_version: int | None = None
    backup_version: int | None = None
    error: str | None = None
    run_id: str | None = None
    warnings: str | None = None  # what the load skipped, dropped, padded or quarantined, or a redelivery


class Ledger:
    def __init__(self, store: DeltaStore) -> None:
        from dataplatform.storage import TableName

        self.store = store
        self.name = TableName("reference", "files", LEDGER_TABLE)

    def record(self, entry: LedgerEntry) -> None:
        import pyarrow as pa

        self.store.append(self.name, pa.Table.from_pylist([asdict(entry)], schema=ledger_schema()))

    def entries(self) -> pa.Table:
        """Every entry, in the current schema (a ledger written by an older release reads its
        missing columns as null)."""
        from dataplatform.storage.schema import conform

        if not self.store.exists(self.name):
            return ledger_schema().empty_table()
        return conform(self.store.read(self.name), ledger_schema())

    def find(self, content_hash: str, table: str) -> list[dict]:
        """This table's earlier entries for the same bytes, oldest first."""
        import pyarrow.compute as pc

        entries = self.entries()
        mine = pc.and_(pc.equal(entries["content_hash"], content_hash), pc.equal(entries["table"], table))
        return entries.filter(mine).sort_by("processed_at").to_pylist()

    def of_table(self, table: str) -> list[dict]:
        """This table's entries, oldest first."""
        import pyarrow.compute as pc

        entries = self.entries()
        return entries.filter(pc.equal(entries["table"], table)).sort_by("processed_at").to_pylist()


def ledger_schema() -> pa.Schema:
    import pyarrow as pa

    utc = pa.timestamp("us", "UTC")
    return pa.schema(
        [
            ("file", pa.string()),
            ("table", pa.string()),
            ("size", pa.int64()),
            ("content_hash", pa.string()),
            ("status", pa.string()),
            ("moved_to", pa.string()),
            ("received_at", utc),
            ("processed_at", utc),
            ("format", pa.string()),
            ("mode", pa.string()),
            ("rows_loaded", pa.int64()),
            ("table_version", pa.int64()),
            ("backup_version", pa.int64()),
            ("error", pa.string()),
            ("run_id", pa.string()),
            ("warnings", pa.string()),
        ]
    )
