"""Readiness handshakes with child processes: wait for a state that proves where the child is,
with a timeout and a message saying what never happened, instead of sleeping and hoping."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def wait_until(ready: Callable[[], bool], process: subprocess.Popen, timeout: float, what: str) -> None:
    """Until `ready()`; fails naming `what` if `process` ends first or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while not ready():
        assert process.poll() is None, f"the process ended (exit {process.returncode}) before {what}"
        assert time.monotonic() < deadline, f"not {what} within {timeout:.0f} s"
        time.sleep(0.005)


def cpu_seconds(pid: int) -> float:
    """The CPU time `pid` has used, all its threads: progress that a loaded machine does not fake
    (wall time passes whether or not the process runs)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def has_open(pid: int, path: Path) -> bool:
    """Whether `pid` holds `path` open now."""
    try:
        descriptors = list(Path(f"/proc/{pid}/fd").iterdir())
    except FileNotFoundError:
        return False
    target = str(path)
    for descriptor in descriptors:
        try:
            if os.readlink(descriptor) == target:
                return True
        except OSError:
            continue
    return False
