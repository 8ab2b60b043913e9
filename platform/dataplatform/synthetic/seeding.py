"""Random streams that depend only on what they generate, never on run order.

Each stream is keyed by (seed, domain, table, part, ordinal): a partition's rows come out the
same whichever process generates it, in whatever order, and changing one table's knobs never
shifts another table's values.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import date
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from dataplatform.synthetic.batch import GeneratedBatch

_EPOCH = date(2000, 1, 1)


def rng_for(seed: int, *path: str | int) -> np.random.Generator:
    """A generator seeded from the base seed and a stable hash of `path`."""
    digest = hashlib.blake2b("/".join(map(str, path)).encode(), digest_size=16).digest()
    words = np.frombuffer(digest, dtype=np.uint32).tolist()
    return np.random.default_rng(np.random.SeedSequence([seed, *words]))


def day_ordinal(day: date) -> int:
    """Days since 2000-01-01: a small stable integer used to build ids unique across days."""
    return (day - _EPOCH).days


class SeededGenerator:
    """What every domain's generator holds: its seed, its volume knobs and its defect rate, and
    random streams keyed by its domain (`_rng("table", "column")`)."""

    domain: str

    def __init__(self, seed: int, volumes, defect_rate: float, threads: int | None = None) -> None:
        """`threads` caps the parallel blocks of a day (default: one per core); rows never
        depend on it."""
        self.seed = seed
        self.volumes = volumes
        self.defect_rate = defect_rate
        self.threads = threads

    def day_chunks(self, day: date, chunk_rows: int | None = None) -> Iterator[GeneratedBatch]:
        """The day in consecutive chunks of about `chunk_rows` rows, which joined are `day(day)`.

        A domain whose days fit in memory delivers its day as one chunk; a domain whose days
        may not overrides this to generate one chunk at a time."""
        yield self.day(day)  # type: ignore[attr-defined]

    def _rng(self, *path: str | int) -> np.random.Generator:
        return rng_for(self.seed, self.domain, *path)
