"""`serve` on a real uvicorn as a subprocess, keys made and revoked by the CLI, gold written by
`dagster job execute` while the server runs: the server never blocks the writer, answers 503
before anything is published and the rows after."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import httpx
import pytest

from platform_tests.e2e.conftest import PROJECT, job_execute, run

pytestmark = pytest.mark.e2e
DAY = "2026-03-10"
API = [sys.executable, "-m", "dataplatform.cli"]


def test_served_api_with_cli_keys_and_a_gold_run_alongside(user_env):
    made = run([*API, "api-key", "create", "--scope", "read", "--name", "e2e", "--format", "json"], user_env)
    assert made.returncode == 0, made.stderr
    key = json.loads(made.stdout)
    headers = {"X-API-Key": key["key"]}
    listed = json.loads(run([*API, "api-key", "list", "--format", "json"], user_env).stdout)
    assert [k["id"] for k in listed] == [key["id"]] and "key" not in listed[0]
    assert run([*API, "api-key", "create", "--scope", "root"], user_env).returncode == 1

    port = _free_port()
    server = subprocess.Popen(
        [*API, "serve", "--port", str(port)],
        env=user_env,
        cwd=PROJECT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, server)
        with httpx.Client(base_url=base, timeout=30) as client:
            assert client.get("/health").json() == {"status": "ok"}
            not_ready = client.get("/ready")
            assert not_ready.status_code == 503 and not_ready.headers["Retry-After"]
            assert not_ready.headers["content-type"] == "application/problem+json"
            assert client.get("/gold").status_code == 401
            before = client.get("/gold/ecommerce/daily_sales", headers=headers)
            assert before.status_code == 503 and "Retry-After" in before.headers

            for job, partition in (("ecommerce_master", None), ("ecommerce_daily", DAY)):
                done = run(job_execute(job, partition), user_env, timeout=600)
                assert done.returncode == 0, done.stderr[-2000:]

            after = client.get("/gold/ecommerce/daily_sales", headers=headers, params={"limit": 5})
            assert after.status_code == 200, after.text
            assert len(after.json()["rows"]) == 5 and after.json()["next_cursor"]
            assert client.get("/ready").status_code == 200
            runs = client.get("/runs", headers=headers, params={"job": "ecommerce_daily"}).json()["runs"]
            assert [r["partition"] for r in runs] == [DAY] and runs[0]["status"] == "SUCCESS"
            assert "dataplatform_gold_rows" in client.get("/metrics").text

            assert run([*API, "api-key", "revoke", key["id"]], user_env).returncode == 0
            assert client.get("/gold", headers=headers).status_code == 401
    finally:
        server.terminate()
        server.wait(timeout=30)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(base: str, server: subprocess.Popen, seconds: float = 60) -> None:
    """Poll /health until the server answers (a readiness handshake, not a fixed sleep)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"serve exited with {server.returncode}: {server.stdout.read()[-2000:]}")
        try:
            httpx.get(f"{base}/health", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"serve did not answer within {seconds} s")
