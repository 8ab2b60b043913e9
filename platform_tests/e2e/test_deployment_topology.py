"""The compose deployment's topology as plain processes: a code server (gRPC), the webserver and
the daemon, each its own process group, on a Dagster instance built from docker/dagster.yaml and
docker/workspace.yaml (the very files the image holds), over a fresh PostgreSQL database.

What a team relies on, checked through the webserver's GraphQL API and the database itself: a
run launched from the UI's API succeeds and its events are in PostgreSQL; the daemon turns a
schedule tick and a file dropped in the drop folder into runs; a run whose worker is killed is
failed and run again to success; the runs history outlives a webserver restart.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import dagster as dg
import pytest

from dataplatform.settings import EXAMPLES

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent
PROJECT = Path(__file__).resolve().parents[2]
DOCKER = PROJECT / "docker"
JOB = "weather_daily"  # the smallest daily job: a few stations' hourly observations
FIRST_DAY, KILLED_DAY = "2026-03-10", "2026-03-11"
SCHEDULE = "platform_metrics_schedule"  # ticks every minute in this test (see `environment`)
FINISHED = ("SUCCESS", "FAILURE", "CANCELED")
# event types as the event_logs table stores them (a run's own events keep their old names: PIPELINE_*)
RUN_SUCCESS, RUN_ENQUEUED = dg.DagsterEventType.RUN_SUCCESS.value, dg.DagsterEventType.RUN_ENQUEUED.value
STEP_START, ENGINE_EVENT = dg.DagsterEventType.STEP_START.value, dg.DagsterEventType.ENGINE_EVENT.value
MATERIALIZATION = dg.DagsterEventType.ASSET_MATERIALIZATION.value
RATES = b"currency;usd_per_unit;valid_from\nUSD;1,0;01.11.2026\nEUR;1,10;01.11.2026\n"
T = TypeVar("T")

RUNS = """
query Runs($filter: RunsFilter) {
  runsOrError(filter: $filter) { ... on Runs { results { runId status jobName tags { key value } } } }
}"""
LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on Error { message }
  }
}"""
WORKSPACE = """
{ workspaceOrError { ... on Workspace { locationEntries {
    name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }"""


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path


@dataclass
class Deployment:
    """The running topology: its processes, ports, folders and database."""

    root: Path
    env: dict[str, str]
    database_url: str
    started: float
    webserver_port: int
    processes: dict[str, Process] = field(default_factory=dict)

    def start(self, name: str, command: list[str]) -> Process:
        """A process in its own group (so it and every child can be stopped together), its output
        in `<root>/logs/<name>.log`."""
        log = self.root / "logs" / f"{name}.log"
        with log.open("ab") as output:
            popen = subprocess.Popen(
                command,
                env=self.env,
                cwd=self.root,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes[name] = Process(name, popen, log)
        return self.processes[name]

    def start_webserver(self) -> None:
        self.webserver_port = free_port()
        workspace = self.env["DAGSTER_HOME"] + "/workspace.yaml"
        self.start(
            "webserver",
            [
                str(BIN / "dagster-webserver"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.webserver_port),
                "-w",
                workspace,
            ],
        )

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.webserver_port}/graphql", body, {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            payload = json.loads(response.read())
        assert not payload.get("errors"), payload["errors"]
        return payload["data"]

    def runs(self, **run_filter) -> list[dict]:
        return self.graphql(RUNS, {"filter": run_filter})["runsOrError"]["results"]

    def runs_tagged(self, key: str, value: str) -> list[dict]:
        return self.runs(tags=[{"key": key, "value": value}])

    def launch(self, job: str, partition: str) -> str:
        """A run of `job` for one day, launched as the UI launches it: it waits in the queue
        until the daemon hands it to the code server."""
        params = {
            "selector": {
                "repositoryLocationName": "dataplatform",
                "repositoryName": "__repository__",
                "jobName": job,
            },
            "executionMetadata": {"tags": [{"key": "dagster/partition", "value": partition}]},
        }
        launched = self.graphql(LAUNCH, {"params": params})["launchRun"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        return launched["run"]["runId"]

    def finished(self, run_id: str, timeout: float) -> dict:
        def done() -> dict | None:
            [run] = self.runs(runIds=[run_id])
            return run if run["status"] in FINISHED else None

        return self.wait_for(done, timeout, f"run {run_id} to finish")

    def events(self, run_id: str) -> list[tuple[str | None, str]]:
        """A run's events as PostgreSQL holds them: (event type, the event as stored)."""
        import psycopg

        with psycopg.connect(self.database_url) as con:
            return con.execute(
                "SELECT dagster_event_type, event FROM event_logs WHERE run_id = %s ORDER BY id", (run_id,)
            ).fetchall()

    def wait_for(self, found: Callable[[], T | None], timeout: float, what: str) -> T:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for process in self.processes.values():
                assert process.popen.poll() is None, f"{process.name} exited\n{self.logs()}"
            try:
                value = found()
            except (urllib.error.URLError, ConnectionError):
                value = None  # the webserver is not listening yet
            if value:
                return value
            time.sleep(0.5)
        raise AssertionError(f"no {what} within {timeout:.0f} s\n{self.logs()}")

    def wait_until_healthy(self, grpc_port: int) -> None:
        """The code server answers gRPC health checks: the compose file's health check, which the
        webserver and the daemon wait for."""
        command = [str(BIN / "dagster"), "api", "grpc-health-check", "-h", "127.0.0.1", "-p", str(grpc_port)]

        def healthy() -> bool:
            return subprocess.run(command, env=self.env, capture_output=True, timeout=60).returncode == 0

        self.wait_for(healthy, 120, "healthy code server")

    def wait_until_loaded(self) -> None:
        errors = []

        def loaded() -> bool:
            [entry] = self.graphql(WORKSPACE)["workspaceOrError"]["locationEntries"]
            location = entry["locationOrLoadError"] or {}
            errors.append(location.get("message"))
            return entry["loadStatus"] == "LOADED" and location.get("__typename") == "RepositoryLocation"

        try:
            self.wait_for(loaded, 120, "code location loaded by the webserver over gRPC")
        except AssertionError as error:
            raise AssertionError(f"last load error: {errors[-1:]}\n{error}") from None

    def stop(self, name: str) -> None:
        """SIGTERM to the process group, SIGKILL to whatever is left after a grace period (the
        code server lets running calls finish first)."""
        process = self.processes.pop(name)
        group = process.popen.pid
        with suppress(ProcessLookupError):  # the whole group has exited already
            os.killpg(group, signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            process.popen.wait(timeout=20)
        with suppress(ProcessLookupError):  # whatever of the group outlived the grace period
            os.killpg(group, signal.SIGKILL)
        process.popen.wait(timeout=10)

    def logs(self, lines: int = 25) -> str:
        tails = []
        for log in sorted((self.root / "logs").glob("*.log")):
            tail = log.read_text(errors="replace").splitlines()[-lines:]
            tails.append(f"--- {log.name}\n" + "\n".join(tail))
        return "\n".join(tails)


@pytest.fixture(scope="module")
def database(postgres_url: str) -> Iterator[str]:
    """A fresh database holding the instance's runs, events and schedules; dropped afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"dataplatform_deploy_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')  # a generated identifier: no user input
    yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(postgres_url, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, database: str) -> Iterator[Deployment]:
    root = tmp_path_factory.mktemp("deployment")
    home = root / "home"
    for folder in (home, root / "logs"):
        folder.mkdir()
    for name in ("dagster.yaml", "workspace.yaml"):  # the files the image copies to DAGSTER_HOME
        shutil.copy(DOCKER / name, home / name)
    env = environment(root, database, grpc_port := free_port())
    topology = Deployment(root, env, database, time.monotonic(), webserver_port=0)
    try:
        code_server = [str(BIN / "dagster"), "code-server", "start", "-h", "127.0.0.1", "-p", str(grpc_port)]
        topology.start("code-server", [*code_server, "-m", "dataplatform.definitions"])
        topology.wait_until_healthy(grpc_port)
        topology.start("daemon", [str(BIN / "dagster-daemon"), "run", "-w", str(home / "workspace.yaml")])
        topology.start_webserver()
        topology.wait_until_loaded()
        yield topology
    finally:
        for name in ("webserver", "daemon", "code-server"):
            if name in topology.processes:
                topology.stop(name)


def environment(root: Path, database: str, grpc_port: int) -> dict[str, str]:
    """What docker/.env.example and the compose file give the services, pointed at this test's
    database, folders and ports; small volumes, and a drop folder and a schedule that act fast."""
    from sqlalchemy.engine import make_url

    url = make_url(database)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DATAPLATFORM_", "DAGSTER_", "POSTGRES_"))
    }
    env.update(
        DAGSTER_HOME=str(root / "home"),
        POSTGRES_USER=url.username or "postgres",
        POSTGRES_PASSWORD=url.password or "",
        POSTGRES_HOST=url.host or "127.0.0.1",
        POSTGRES_PORT=str(url.port or 5432),
        POSTGRES_DB=str(url.database),
        DAGSTER_CODE_SERVER_HOST="127.0.0.1",
        DAGSTER_CODE_SERVER_PORT=str(grpc_port),
        DATAPLATFORM_DATA_DIR=str(root / "data"),
        DATAPLATFORM_DROPZONE_DIR=str(root / "dropzone"),
        DATAPLATFORM_START_DATE="2026-01-01",
        DATAPLATFORM_WEATHER__STATIONS="4",
        DATAPLATFORM_DROPZONE_INTERVAL_S="1",
        DATAPLATFORM_DROPZONE_TICKS="1",
        **{f"DATAPLATFORM_SCHEDULES__{SCHEDULE.upper()}": "* * * * *"},
    )
    return env


def test_a_run_launched_over_graphql_succeeds_and_its_events_are_in_postgres(deployment: Deployment):
    run_id = deployment.launch(JOB, FIRST_DAY)
    run = deployment.finished(run_id, timeout=150)
    assert run["status"] == "SUCCESS", deployment.logs()
    print(f"\nfirst successful run {time.monotonic() - deployment.started:.1f} s after the processes started")
    assert {"key": "dagster/partition", "value": FIRST_DAY} in run["tags"]

    events = deployment.events(run_id)
    types = [kind for kind, _ in events]
    assert types.count(RUN_SUCCESS) == 1 and RUN_ENQUEUED in types  # queued, then launched by the daemon
    materialised = {
        "/".join(
            json.loads(stored)["dagster_event"]["event_specific_data"]["materialization"]["asset_key"]["path"]
        )
        for kind, stored in events
        if kind == MATERIALIZATION
    }
    assert {
        "landing/weather/observations",
        "silver/weather/observations",
        "gold/weather/daily_weather",
    } <= materialised


def test_a_file_dropped_in_the_drop_folder_gets_a_run_from_the_sensor(deployment: Deployment):
    incoming = Path(deployment.env["DATAPLATFORM_DROPZONE_DIR"]) / "incoming" / "currency_rates"
    incoming.mkdir(parents=True)
    shutil.copy(EXAMPLES / "currency_rates" / "_table.yaml", incoming)
    (incoming / ".rates.csv.part").write_bytes(RATES)  # whole before it appears under its name
    (incoming / ".rates.csv.part").rename(incoming / "rates.csv")

    [run] = deployment.wait_for(
        lambda: deployment.runs_tagged("dataplatform/file", "currency_rates/rates.csv"), 90, "drop-folder run"
    )
    assert {"key": "dagster/sensor_name", "value": "reference_dropzone"} in run["tags"]
    assert deployment.finished(run["runId"], timeout=120)["status"] == "SUCCESS", deployment.logs()
    archive = Path(deployment.env["DATAPLATFORM_DROPZONE_DIR"]) / "archive" / "currency_rates"
    assert [path.name for path in archive.rglob("rates.csv")] == ["rates.csv"]
    assert not (incoming / "rates.csv").exists()


def test_a_run_worker_killed_is_failed_and_retried_to_success(deployment: Deployment):
    run_id = deployment.launch(JOB, KILLED_DAY)

    def worker_in_a_step() -> int | None:
        events = deployment.events(run_id)
        started = [re.search(r"Started process for run \(pid: (\d+)\)", stored) for _, stored in events]
        pids = [int(match.group(1)) for match in started if match]
        stepping = any(kind == STEP_START for kind, _ in events)
        return pids[0] if pids and stepping else None

    pid = deployment.wait_for(worker_in_a_step, 120, "run worker executing a step")
    # the run worker is a child of the code server started here: same process group
    assert os.getpgid(pid) == deployment.processes["code-server"].popen.pid
    os.kill(pid, signal.SIGKILL)

    killed = deployment.finished(run_id, timeout=60)
    assert killed["status"] == "FAILURE"
    engine = [stored for kind, stored in deployment.events(run_id) if kind == ENGINE_EVENT]
    assert any("terminated by signal 9" in stored for stored in engine)  # the code server saw it die
    [retry] = deployment.wait_for(
        lambda: deployment.runs_tagged("dagster/parent_run_id", run_id),
        90,
        "automatic retry of the killed run",
    )
    assert {"key": "dagster/retry_number", "value": "1"} in retry["tags"]
    assert {"key": "dagster/partition", "value": KILLED_DAY} in retry["tags"]
    assert deployment.finished(retry["runId"], timeout=150)["status"] == "SUCCESS", deployment.logs()


def test_the_runs_history_is_the_same_after_a_webserver_restart(deployment: Deployment):
    def history() -> dict[str, tuple[str, str]]:
        return {r["runId"]: (r["jobName"], r["status"]) for r in deployment.runs(statuses=list(FINISHED))}

    before = deployment.wait_for(history, 120, "finished run")
    deployment.stop("webserver")
    deployment.start_webserver()
    deployment.wait_until_loaded()
    after = history()
    assert {run_id: after.get(run_id) for run_id in before} == before  # the daemon may finish more meanwhile


def test_a_schedule_tick_gets_a_run_from_the_daemon(deployment: Deployment):
    def succeeded() -> list[dict]:
        return [
            r for r in deployment.runs_tagged("dagster/schedule_name", SCHEDULE) if r["status"] == "SUCCESS"
        ]

    # a tick at the start of every minute: last in the module, so that most of the minute
    # after the daemon started has passed while the tests above ran
    [run, *_] = deployment.wait_for(succeeded, 180, f"successful run of {SCHEDULE}")
    assert run["jobName"] == "platform_metrics"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
