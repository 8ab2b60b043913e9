"""The Dagster UI as a user sees it: headless Chromium against a real `dagster-webserver`.

One webserver serves the project's workspace.yaml over a throwaway instance (the repo's
dagster.yaml in a temporary DAGSTER_HOME, data in a temporary folder) after a real run:
`dagster job execute` of one day of weather on a fresh instance. Its stations were never
loaded, so silver observations' reference check fails while the others pass: the Checks tab
has both results to show. Each test opens one page, compares what it shows with what the
definitions or the instance (over GraphQL) say, fails on any error the page shows, raises or
receives, and leaves a screenshot under a temporary folder whose path it prints.

Chromium is Debian's (`apt-get install chromium`; .ci/run installs it). Without it the tests
skip with the reason, except under CI=true, where they fail.
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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest
from playwright.sync_api import expect, sync_playwright

from platform_tests.e2e.conftest import BIN, PROJECT, daily_job

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium keeps calling home, and this closed
# network refuses it.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DAY = "2026-01-02"
JOB = "weather_daily"
SILVER = ("silver", "weather", "observations")
WAIT_MS = 30_000  # a page on 2 busy cores; a healthy one answers in a few seconds
STARTUP_S = 120
# What the UI says when something broke (its GraphQL error toasts, load errors, a crash).
ERROR_TEXTS = (
    "Unexpected GraphQL error",
    "Unexpected error",
    "Application error",
    "An error occurred",
    "Error loading",
    "Something went wrong",
    "PythonError",
)
# The Checks tab's words for an execution's status.
CHECK_STATUS_LABEL = {"SUCCEEDED": "Succeeded", "FAILED": "Failed"}
# A collapsed group of the asset graph: a box with the group's name and its asset count.
GROUP_BOX = '[class*="collapsedGroupNodeBox"]'

GROUPS_OF_DEFINITIONS = """
import collections, json
from dataplatform.definitions import defs
graph = defs().resolve_asset_graph()
print(json.dumps(collections.Counter(graph.get(key).group_name for key in graph.get_all_asset_keys())))
"""
WORKSPACE = """
{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus
    locationOrLoadError { __typename ... on PythonError { message } } } } } }
"""
AUTOMATION = """
{ repositoriesOrError { ... on RepositoryConnection { nodes {
    schedules { name scheduleState { status } }
    sensors { name sensorState { status } } } } } }
"""
CHECKS = """
query Checks($path: [String!]!) { assetNodes(assetKeys: [{path: $path}]) {
  assetChecksOrError { ... on AssetChecks { checks { name executionForLatestMaterialization { status } } } } } }
"""
RUNS = "{ runsOrError { ... on Runs { results { runId jobName status tags { key value } } } } }"


@dataclass
class PlatformUI:
    url: str
    groups: dict[str, int]  # asset group -> asset count, from the definitions
    screenshots: Path

    def graphql(self, query: str, **variables) -> dict:
        body = json.dumps({"query": query, "variables": variables}).encode()
        request = urllib.request.Request(
            f"{self.url}/graphql", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.load(response)
        assert not answer.get("errors"), answer["errors"]
        return answer["data"]


@pytest.fixture(scope="module")
def chromium() -> Path:
    if CHROMIUM.exists():
        return CHROMIUM
    reason = f"Debian's Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true requires the browser tests; {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def platform_ui(chromium, tmp_path_factory) -> Iterator[PlatformUI]:
    """The webserver on a free port over a fresh instance holding one finished run."""
    root = tmp_path_factory.mktemp("ui")
    env = _user_env(root)
    # the webserver and the run would otherwise both create the fresh SQLite storages, and race
    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]):
        pass
    log = root / "webserver.log"
    port = _free_port()
    with log.open("w") as out:
        # its own session, so teardown ends the webserver and the code server it started
        server = subprocess.Popen(
            [str(BIN / "dagster-webserver"), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
            env=env, cwd=PROJECT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        # the run and the definitions' groups are made while the webserver starts
        with (root / "groups.json").open("w") as out, (root / "groups.log").open("w") as err:
            groups = subprocess.Popen(
                [sys.executable, "-c", GROUPS_OF_DEFINITIONS], env=env, cwd=PROJECT, stdout=out, stderr=err
            )
        job = subprocess.run(
            daily_job(DAY, JOB), env=env, cwd=PROJECT, capture_output=True, text=True, timeout=300
        )
        assert job.returncode == 0, job.stderr[-3000:]
        assert groups.wait(timeout=120) == 0, (root / "groups.log").read_text()[-3000:]
        screenshots = root / "screenshots"
        screenshots.mkdir()
        ui = PlatformUI(
            f"http://127.0.0.1:{port}", json.loads((root / "groups.json").read_text()), screenshots
        )
        _wait_until_loaded(ui, server, log)
        # the instance's one-time "join the community" dialog would cover every page
        assert ui.graphql("mutation { setNuxSeen }")["setNuxSeen"]
        print(f"\nscreenshots of the UI tests: {screenshots}")
        yield ui
    finally:
        _stop(server)


@pytest.fixture(scope="module")
def browser(chromium):
    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, platform_ui, request, record_property):
    """A fresh page that records every error it shows, raises or receives, and is checked for
    them (and photographed) after the test, also when the test failed."""
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    problems, graphql_responses = [], []
    page.on("pageerror", lambda error: problems.append(f"uncaught exception: {error}"))
    page.on(
        "console",
        lambda message: (
            problems.append(f"console error: {message.text}") if message.type == "error" else None
        ),
    )
    page.on(
        "response",
        lambda response: graphql_responses.append(response) if "/graphql" in response.url else None,
    )
    yield page
    shot = platform_ui.screenshots / f"{request.node.name}.png"
    page.screenshot(path=shot)
    record_property("screenshot", str(shot))
    print(f"screenshot: {shot}")
    problems += _graphql_problems(graphql_responses) + _error_texts(page)
    context.close()
    assert not problems, f"{page.url} shows errors (screenshot {shot}):\n" + "\n".join(problems)


def test_lineage_shows_every_asset_group_of_the_definitions(page, platform_ui):
    page.goto(f"{platform_ui.url}/asset-groups")
    expect(page.get_by_text("Global asset lineage")).to_be_visible()
    assert len(platform_ui.groups) >= 5, platform_ui.groups
    expect(page.locator(GROUP_BOX)).to_have_count(len(platform_ui.groups))
    # every group's materialisation status arrived: a box then counts its assets by status
    expect(page.get_by_text("fetching statuses")).to_have_count(0, timeout=60_000)
    for group, count in platform_ui.groups.items():
        node = page.locator(GROUP_BOX).filter(has=page.locator(f'[data-tooltip="{group}"]'))
        expect(node).to_be_visible()
        by_status = node.locator(".BaseTag").all_inner_texts()
        assert sum(int(n) for n in by_status if n.strip().isdigit()) == count, (group, count, by_status)


def test_silver_asset_checks_tab_lists_its_checks_with_their_results(page, platform_ui):
    (node,) = platform_ui.graphql(CHECKS, path=list(SILVER))["assetNodes"]
    checks = node["assetChecksOrError"]["checks"]
    results = {c["name"]: (c["executionForLatestMaterialization"] or {}).get("status") for c in checks}
    assert "SUCCEEDED" in results.values() and "FAILED" in results.values(), results
    page.goto(f"{platform_ui.url}/assets/{'/'.join(SILVER)}?view=checks")
    expect(page.get_by_text(f"Checks ({len(checks)})", exact=True)).to_be_visible()
    for name, status in results.items():
        row = page.locator('[class*="checkRow"]').filter(has=page.locator(f'[title="{name}"]'))
        expect(row).to_be_visible()
        expect(row).to_contain_text(CHECK_STATUS_LABEL[status])
    # the failed one opened: its latest evaluation says so
    failed = next(name for name, status in results.items() if status == "FAILED")
    page.locator(f'[title="{failed}"]').first.click()
    expect(page).to_have_url(re.compile(rf"checkDetail={failed}"))
    evaluation = page.get_by_text("Evaluation result", exact=True).locator("xpath=..")
    expect(evaluation).to_contain_text("Failed")


def test_runs_page_lists_the_run(page, platform_ui):
    (run,) = platform_ui.graphql(RUNS)["runsOrError"]["results"]
    assert (run["jobName"], run["status"]) == (JOB, "SUCCESS"), run
    page.goto(f"{platform_ui.url}/runs")
    row = page.locator("[data-index]").filter(has=page.locator(f'a[href="/runs/{run["runId"]}"]'))
    expect(row).to_be_visible()
    for text in (run["runId"][:8], JOB, f"partition: {DAY}", "Success"):
        expect(row).to_contain_text(text)


def test_automation_page_shows_schedules_and_sensors_in_the_instance_state(page, platform_ui):
    """Running or stopped as the instance says, whatever the definitions' default is."""
    (repository,) = platform_ui.graphql(AUTOMATION)["repositoriesOrError"]["nodes"]
    states = {("schedules", s["name"]): s["scheduleState"]["status"] for s in repository["schedules"]}
    states |= {("sensors", s["name"]): s["sensorState"]["status"] for s in repository["sensors"]}
    assert any(kind == "schedules" for kind, _ in states) and any(kind == "sensors" for kind, _ in states)
    page.set_viewport_size({"width": 1600, "height": 2400})  # the list renders only rows on screen
    page.goto(f"{platform_ui.url}/automation")
    rows = page.locator("[data-index]").filter(
        has=page.locator('a[href*="/schedules/"], a[href*="/sensors/"]')
    )
    expect(rows).to_have_count(len(states))
    for (kind, name), status in sorted(states.items()):
        row = rows.filter(has=page.locator(f'a[href$="/{kind}/{name}"]'))
        expect(row).to_have_count(1)
        switch = row.locator('label[class*="formatSwitch"] input[type="checkbox"]')
        expect(switch).to_be_checked(checked=status == "RUNNING")


def _user_env(root: Path) -> dict[str, str]:
    """As conftest's user_env, for one instance shared by this module's tests."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATAPLATFORM_", "DAGSTER_"))}
    home = root / "dagster"
    home.mkdir()
    shutil.copy(PROJECT / "dagster.yaml", home / "dagster.yaml")
    env.update(
        DAGSTER_HOME=str(home),
        DATAPLATFORM_DATA_DIR=str(root / "data"),
        DATAPLATFORM_START_DATE="2026-01-01",
        DATAPLATFORM_WEATHER__STATIONS="6",
    )
    return env


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_loaded(ui: PlatformUI, server: subprocess.Popen, log: Path) -> None:
    """Until the webserver answers and its code location is loaded (or failed to load)."""
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        assert server.poll() is None, (
            f"dagster-webserver exited {server.returncode}:\n{log.read_text()[-3000:]}"
        )
        try:
            entries = ui.graphql(WORKSPACE)["workspaceOrError"]["locationEntries"]
        except (urllib.error.URLError, ConnectionError):
            entries = []
        if entries and all(e["loadStatus"] == "LOADED" for e in entries):
            for entry in entries:
                location = entry["locationOrLoadError"]
                assert location["__typename"] == "RepositoryLocation", location.get("message", location)
            return
        time.sleep(0.5)
    pytest.fail(
        f"dagster-webserver did not load the code location in {STARTUP_S}s:\n{log.read_text()[-3000:]}"
    )


def _stop(server: subprocess.Popen) -> None:
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=15)


def _graphql_problems(responses) -> list[str]:
    problems = []
    for response in responses:
        if response.status >= 400:
            problems.append(f"GraphQL answered HTTP {response.status}")
            continue
        try:
            text = response.text()
        except Exception:
            continue
        if '"errors"' in text and json.loads(text).get("errors"):
            problems.append(f"GraphQL errors: {text[:500]}")
        if re.search(r'"__typename":\s*"PythonError"', text):
            problems.append(f"GraphQL returned a PythonError: {text[:500]}")
    return problems


def _error_texts(page) -> list[str]:
    text = page.locator("body").inner_text()
    return [f"the page says {phrase!r}" for phrase in ERROR_TEXTS if phrase in text]
