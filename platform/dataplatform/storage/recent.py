"""Tables this process has just written, kept to answer reads of them without reading files back.

A Dagster run executes its steps in one process by default: bronze writes a batch that silver
reads next, silver writes a day that its checks and gold then read several times. Decoding
those files again costs as much as the transform itself, so a store keeps what it wrote (as
written, after schema conformance) under the table's location, the table version the write
made, and the slice it replaced. A read is answered from here only when the store proves the
answer is the same: same version (no one wrote since), and no row outside the kept slice can
match the read's slice (see `DeltaStore.read`). Anything else reads the files.

Kept tables pin memory, so the registry holds at most `RECENT_WRITES_BYTES`, dropping the
least recently used first; a table larger than that is not kept.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

    from dataplatform.storage.contract import Slice

RECENT_WRITES_BYTES = 3 * 1024**3


@dataclass(frozen=True)
class Written:
    version: int
    replaced: Slice | None  # None: the write replaced the whole table
    data: pa.Table


class RecentWrites:
    def __init__(self, budget_bytes: int) -> None:
        self.budget = budget_bytes
        self._entries: OrderedDict[str, Written] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, location: str, entry: Written) -> None:
        with self._lock:
            self._entries.pop(location, None)
            size = entry.data.nbytes
            if size > self.budget:
                return
            self._entries[location] = entry
            total = sum(e.data.nbytes for e in self._entries.values())
            while total > self.budget:
                _, dropped = self._entries.popitem(last=False)
                total -= dropped.data.nbytes

    def recall(self, location: str, version: int) -> Written | None:
        with self._lock:
            entry = self._entries.get(location)
            if entry is None:
                return None
            if entry.version != version:
                del self._entries[location]
                return None
            self._entries.move_to_end(location)
            return entry

    def forget(self, location: str) -> None:
        with self._lock:
            self._entries.pop(location, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


RECENT = RecentWrites(RECENT_WRITES_BYTES)
