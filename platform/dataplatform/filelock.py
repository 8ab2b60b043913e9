"""One OS file lock for every place that needs writers on this machine to take turns.

`fcntl.flock` is released by the kernel when its holder dies, so a killed writer never leaves a
lock behind that a person would have to remove by hand.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def held(path: Path) -> Iterator[None]:
    """An exclusive lock on `path` for the `with` block: a lock file (created empty if missing),
    or a folder, which leaves no file behind in it."""
    fd = os.open(path, os.O_RDONLY if path.is_dir() else os.O_RDONLY | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock
