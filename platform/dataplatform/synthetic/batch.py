"""What a generator hands over: tables as delivered, plus the record of injected defects."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import pyarrow as pa

T = TypeVar("T")


@dataclass(frozen=True)
class GeneratedBatch:
    tables: dict[str, pa.Table]
    defects: pa.Table

    @property
    def rows(self) -> int:
        return sum(table.num_rows for table in self.tables.values())

    @classmethod
    def joined(cls, chunks: Iterable[GeneratedBatch]) -> GeneratedBatch:
        """Chunks of one delivery (`day_chunks`) as one batch: each table's rows in chunk order."""
        chunks = list(chunks)
        return cls(
            {name: pa.concat_tables([c.tables[name] for c in chunks]) for name in chunks[0].tables},
            pa.concat_tables([c.defects for c in chunks]),
        )


def in_parallel(work: Callable[..., T], jobs: Iterable[tuple], threads: int | None = None) -> list[T]:
    """`work(*job)` for every job on up to `threads` threads (default one per core), results in
    job order.

    numpy's random fills and Arrow's kernels release the GIL, so independent blocks of a day
    run side by side. The pool lives for one call: a long-lived pool would not survive a fork
    (Dagster's multiprocess executor) and its threads would hold nothing useful between days.
    """
    jobs = list(jobs)
    workers = min(len(jobs), threads or os.cpu_count() or 1)
    if workers <= 1:
        return [work(*job) for job in jobs]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="generate") as pool:
        return list(pool.map(lambda job: work(*job), jobs))
