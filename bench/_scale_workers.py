"""Part (a) of bench/scale.py: the same 8-day backfill on 1 and then 2 Celery workers; the speed-up.

Not a benchmark itself (`make bench` skips files starting with `_`): `bench/scale.py` calls
`backfill_speedup` and reports its figures with the rest.

What is timed, for each worker count in turn, on a fresh PostgreSQL database (the team
deployment's docker/dagster.yaml) and a fresh data folder, with N real workers started as `make
workers` starts them (`worker_command`):

* untimed setup: the workers, until each says it is ready, and `<domain>_master` (master data);
* timed: the `<domain>_daily` runs of `days` consecutive days started at once as `dagster job
  execute` processes, as a backfill launches its runs, until the last one has ended. Each run
  process orchestrates: it puts its steps on the broker and the workers execute them.

The speed-up is the 1-worker time over the 2-worker time. Gold steps share the DuckDB warehouse's
one pool slot, so they never run in parallel: the speed-up is bounded by the share of the work
that is not gold (Amdahl). The load average is read before each backfill: the machine is
shared, and other work skews the figure.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from _harness import Figure

PROJECT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
READY_TIMEOUT_SECONDS = 60.0
RUN_TIMEOUT_SECONDS = 1800
# e-commerce orders a day: the 8-day backfill took 83 s on 1 worker here (2 CPUs, load average 1.9)
DEFAULT_ORDERS_PER_DAY = 5_000


@dataclass(frozen=True)
class Backfill:
    """One backfill's wall time with `workers` workers, rows landed, and the load average before it."""

    workers: int
    seconds: float
    rows: int
    load_average: float


@dataclass(frozen=True)
class Speedup:
    """The backfill with 1 and with 2 workers."""

    one: Backfill
    two: Backfill

    @property
    def speedup(self) -> float:
        return self.one.seconds / self.two.seconds

    def figures(self, days: int) -> list[Figure]:
        """Rows for `_harness.report`: 2 workers the subject, 1 worker its anchor (ratio = speed-up)."""
        return [
            Figure(
                f"{days}-day backfill, {b.workers} Celery worker{'s' if b.workers > 1 else ''}",
                b.rows,
                (b.seconds,),
                role="subject" if b.workers == 2 else "anchor",
                group="workers",
            )
            for b in (self.two, self.one)
        ]

    def as_json(self) -> dict[str, object]:
        return {
            "seconds_1_worker": round(self.one.seconds, 2),
            "seconds_2_workers": round(self.two.seconds, 2),
            "speedup": round(self.speedup, 3),
            "load_average_before": [self.one.load_average, self.two.load_average],
            "rows": self.one.rows,
        }


def backfill_speedup(
    work: Path,
    broker: str,
    postgres_url: str,
    orders_per_day: int = DEFAULT_ORDERS_PER_DAY,
    days: int = 8,
    first_day: date = date(2026, 3, 2),
    domain: str = "ecommerce",
) -> Speedup:
    """The `days`-day backfill of `domain` with 1 then 2 workers, each from scratch under `work`."""
    one, two = (
        _backfill(work / f"{n}-workers", n, broker, postgres_url, orders_per_day, days, first_day, domain)
        for n in (1, 2)
    )
    return Speedup(one, two)


def _backfill(
    root: Path,
    workers: int,
    broker: str,
    postgres_url: str,
    orders_per_day: int,
    days: int,
    first_day: date,
    domain: str,
) -> Backfill:
    root.mkdir(parents=True, exist_ok=True)
    with _database(postgres_url) as database:
        env = _environment(root, database, broker, orders_per_day)
        with _workers(workers, env, root):
            _execute([_job(f"{domain}_master")], env, root)
            load = round(os.getloadavg()[0], 2)
            started = time.perf_counter()
            _execute([_job(f"{domain}_daily", first_day + timedelta(n)) for n in range(days)], env, root)
            seconds = time.perf_counter() - started
    return Backfill(workers, seconds, _landed_rows(root / "data", domain), load)


def _environment(root: Path, database: str, broker: str, orders_per_day: int) -> dict[str, str]:
    from sqlalchemy.engine import make_url

    home = root / "dagster"
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text((PROJECT / "docker" / "dagster.yaml").read_text())
    url = make_url(database)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DATAPLATFORM_", "DAGSTER_", "POSTGRES_"))
    }
    return env | {
        "DAGSTER_HOME": str(home),
        "POSTGRES_USER": url.username or "postgres",
        "POSTGRES_PASSWORD": url.password or "",
        "POSTGRES_HOST": url.host or "127.0.0.1",
        "POSTGRES_PORT": str(url.port or 5432),
        "POSTGRES_DB": str(url.database),
        "DATAPLATFORM_DATA_DIR": str(root / "data"),
        "DATAPLATFORM_START_DATE": "2026-01-01",
        "DATAPLATFORM_ECOMMERCE__ORDERS_PER_DAY": str(orders_per_day),
        "DATAPLATFORM_EXECUTOR": "celery",
        "DATAPLATFORM_CELERY_BROKER": broker,
    }


def _job(job: str, day: date | None = None) -> list[str]:
    command = [str(BIN / "dagster"), "job", "execute", "-m", "dataplatform.definitions", "-j", job]
    return command + (["--tags", f'{{"dagster/partition": "{day.isoformat()}"}}'] if day else [])


def _execute(commands: list[list[str]], env: dict[str, str], root: Path) -> None:
    """Start every run at once and wait for all; a failed run stops the benchmark with its log."""
    logs = root / "runs"
    logs.mkdir(exist_ok=True)
    started = []
    for command in commands:
        log = logs / f"{uuid.uuid4().hex[:8]}.log"
        with log.open("wb") as output:
            started.append(
                (
                    log,
                    subprocess.Popen(command, env=env, cwd=PROJECT, stdout=output, stderr=subprocess.STDOUT),
                )
            )
    try:
        for log, process in started:
            if process.wait(timeout=RUN_TIMEOUT_SECONDS) != 0:
                raise RuntimeError(f"{' '.join(process.args)} failed:\n{log.read_text()[-3000:]}")
    finally:
        for _, process in started:
            if process.poll() is None:
                process.kill()
                process.wait()


@contextmanager
def _workers(count: int, env: dict[str, str], root: Path) -> Iterator[None]:
    """`count` workers, each in its own process group, stopped however the block ends."""
    from dataplatform.defs.celery_executor import worker_command

    host = socket.gethostname()
    processes = []
    try:
        for number in range(1, count + 1):
            name = f"bench-{number}"
            log = root / f"{name}.log"
            with log.open("wb") as output:
                process = subprocess.Popen(
                    worker_command(name, str(BIN / "celery")),
                    env=env,
                    cwd=root,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            processes.append(process)
            deadline = time.monotonic() + READY_TIMEOUT_SECONDS
            while f"{name}@{host} ready." not in log.read_text(errors="replace"):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"worker {name} did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.2)
        yield
    finally:
        for process in processes:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@contextmanager
def _database(postgres_url: str) -> Iterator[str]:
    """A fresh database on the server at `postgres_url` for one backfill, dropped afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"dataplatform_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _landed_rows(data_dir: Path, domain: str) -> int:
    """Rows in the domain's bronze after the backfill (its master data included)."""
    from dataplatform.settings import Settings
    from dataplatform.storage import store_for_layer

    store = store_for_layer(Settings(data_dir=data_dir), "bronze")
    return sum(
        store.row_count(table) for table in store.list_tables("bronze") if table.namespace.endswith(domain)
    )
