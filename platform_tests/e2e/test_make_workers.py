"""`make workers N=2` as a user runs it: two Celery workers in the foreground, each named
worker-<i>@<host> with one step at a time, on the broker of DATAPLATFORM_CELERY_BROKER; Ctrl-C
(SIGINT to the terminal's process group) stops every one of them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time

import pytest

from platform_tests.celery import celery_broker  # noqa: F401  (fixture)
from platform_tests.e2e.conftest import PROJECT

pytestmark = pytest.mark.e2e


def test_make_workers_starts_named_workers_and_ctrl_c_stops_them_all(tmp_path, celery_broker):  # noqa: F811
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATAPLATFORM_", "MAKE"))}
    env |= {"DATAPLATFORM_CELERY_BROKER": celery_broker, "DATAPLATFORM_DATA_DIR": str(tmp_path / "data")}
    log = tmp_path / "workers.log"
    with log.open("wb") as output:
        make = subprocess.Popen(
            ["make", "workers", "N=2"],
            cwd=PROJECT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    host = socket.gethostname()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not all(
            f"worker-{i}@{host} ready." in log.read_text() for i in (1, 2)
        ):
            assert make.poll() is None, log.read_text()
            time.sleep(0.3)
        text = log.read_text()
        assert all(f"worker-{i}@{host} ready." in text for i in (1, 2)), text
        assert text.count(".> concurrency: 1 (prefork)") == 2
        assert "worker-3@" not in text
        os.killpg(make.pid, signal.SIGINT)  # what Ctrl-C sends
        make.wait(timeout=30)
        assert _group_members(make.pid) == []
    finally:
        if make.poll() is None or _group_members(make.pid):
            os.killpg(make.pid, signal.SIGKILL)
            make.wait()


def _group_members(group: int) -> list[int]:
    found = subprocess.run(["pgrep", "-g", str(group)], capture_output=True, text=True)
    return [int(pid) for pid in found.stdout.split()]
