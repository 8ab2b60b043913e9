"""Celery for tests: a reachable broker, and real worker processes started as `make workers` does.

`celery_broker` is DATAPLATFORM_TEST_CELERY_BROKER, or else the machine's Redis or RabbitMQ,
whichever answers first (`.ci/run` starts one when neither runs). Without one the tests that
need it are skipped with the reason, except under CI=true, where that is a failure: CI must
never pass by skipping the Celery tests.

`celery_workers` starts each worker in its own process group (the worker and its pool's child),
returns once every one said it is ready, and stops them all when the block ends, however it ends.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest

from dataplatform.defs.celery_executor import worker_command

LOCAL_BROKERS = ("redis://127.0.0.1:6379/0", "amqp://guest:guest@127.0.0.1:5672//")
READY_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 15.0
CELERY = str(Path(sys.executable).parent / "celery")


@pytest.fixture(scope="session")
def celery_broker() -> str:
    """A broker URL that answers: DATAPLATFORM_TEST_CELERY_BROKER, else local Redis or RabbitMQ."""
    given = os.environ.get("DATAPLATFORM_TEST_CELERY_BROKER")
    problems = []
    for url in (given,) if given else LOCAL_BROKERS:
        problem = _unreachable(url)
        if problem is None:
            return url
        problems.append(problem)
    where = "DATAPLATFORM_TEST_CELERY_BROKER" if given else "local Redis (6379) or RabbitMQ (5672)"
    reason = f"no Celery broker reachable at {where}: {'; '.join(problems)}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true requires a Celery broker; {reason}")
    pytest.skip(reason)


@dataclass(frozen=True)
class Workers:
    """Running workers: their names (as events give them, `name@host`) and log files."""

    names: tuple[str, ...]
    logs: tuple[Path, ...]

    def output(self) -> str:
        return "\n".join(f"== {log.name}\n{log.read_text(errors='replace')[-4000:]}" for log in self.logs)


@contextmanager
def celery_workers(
    count: int, env: dict[str, str], folder: Path, prefix: str = "worker"
) -> Iterator[Workers]:
    """`count` workers with `env` (the same DATAPLATFORM_* settings as the runs), logs in `folder`."""
    host = socket.gethostname()
    names = tuple(f"{prefix}-{number}" for number in range(1, count + 1))
    logs = tuple(folder / f"{name}.log" for name in names)
    processes: list[subprocess.Popen] = []
    try:
        for name, log in zip(names, logs, strict=True):
            with log.open("wb") as output:
                processes.append(
                    subprocess.Popen(
                        worker_command(name, CELERY),
                        env=env,
                        cwd=folder,
                        stdout=output,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        workers = Workers(tuple(f"{name}@{host}" for name in names), logs)
        _wait_until_ready(processes, workers)
        yield workers
    finally:
        for process in processes:
            _stop(process)


def _unreachable(url: str) -> str | None:
    """Why the broker at `url` does not answer (its scheme and error, never the URL), or None."""
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=3) as connection:
            connection.ensure_connection(max_retries=1, timeout=3)
    except Exception as error:
        return f"{url.split('://', 1)[0]}: {type(error).__name__}: {str(error).splitlines()[0][:200]}"
    return None


def _wait_until_ready(processes: list[subprocess.Popen], workers: Workers) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    waiting = dict(zip(workers.names, workers.logs, strict=True))
    while waiting and time.monotonic() < deadline:
        for process in processes:
            if process.poll() is not None:
                raise AssertionError(f"a Celery worker exited with {process.returncode}\n{workers.output()}")
        for name, log in list(waiting.items()):
            if f"{name} ready." in log.read_text(errors="replace"):
                del waiting[name]
        time.sleep(0.2)
    if waiting:
        raise AssertionError(
            f"{', '.join(waiting)} not ready within {READY_TIMEOUT_SECONDS:.0f} s\n{workers.output()}"
        )


def _stop(process: subprocess.Popen) -> None:
    """A warm shutdown of the worker's group (its current step may finish), then a kill."""
    for sig, wait in ((signal.SIGTERM, STOP_TIMEOUT_SECONDS), (signal.SIGKILL, STOP_TIMEOUT_SECONDS)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    # the pool's child may outlive its parent for a moment: nothing of the group may remain
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
