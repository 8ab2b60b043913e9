"""One OS file lock for every place that needs writers on this machine to take turns.

`fcntl.flock` is released by the kernel when its holder dies, so a killed writer never leaves a
lock behind that a person would have to remove by hand.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def held(path: Path) -> Iterator[None]:
    """An exclusive lock on the file `path` (created empty if missing) for the `with` block."""
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
