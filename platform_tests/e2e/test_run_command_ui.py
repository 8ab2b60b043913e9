"""A run `dataplatform run` launches is shown and re-executed by the UI like the UI's own: asked
through the UI's GraphQL API over the project's workspace.yaml, the code location running as a
separate process, as under `dagster dev`."""

from __future__ import annotations

import os
import sys
import time

import dagster as dg
import pytest

from platform_tests.e2e.conftest import PROJECT, run

LAUNCH = """
import dagster as dg
from dataplatform.defs.runs import launch

outcome = launch(dg.DagsterInstance.get(), "ecommerce_master")
print(outcome.run_id, outcome.success)
"""

RUNS_OF_JOB = """
query ($filter: RunsFilter!) {
  runsOrError(filter: $filter) {
    ... on Runs { results { runId status repositoryOrigin { repositoryLocationName repositoryName } } }
  }
}
"""

MATERIALISED_BY = """
query ($path: [String!]!) {
  assetOrError(assetKey: {path: $path}) { ... on Asset { assetMaterializations(limit: 1) { runId } } }
}
"""

REEXECUTE = """
mutation ($runId: String!) {
  launchRunReexecution(reexecutionParams: {parentRunId: $runId, strategy: ALL_STEPS}) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
  }
}
"""


@pytest.fixture
def user_instance(user_env, monkeypatch):
    """The user's instance, with the user's settings in this process (the UI's code server
    inherits them)."""
    for name in [n for n in os.environ if n.startswith(("DATAPLATFORM_", "DAGSTER_"))]:
        monkeypatch.delenv(name)
    for name, value in user_env.items():
        if name.startswith(("DATAPLATFORM_", "DAGSTER_")):
            monkeypatch.setenv(name, value)
    with dg.DagsterInstance.get() as instance:
        yield instance


def test_a_launched_run_is_on_its_job_and_assets_pages_and_the_ui_re_executes_it(user_env, user_instance):
    from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import QueuedRunCoordinatorDaemon
    from dagster_graphql.test.utils import define_out_of_process_context, execute_dagster_graphql

    launched = run([sys.executable, "-c", LAUNCH], user_env)
    assert launched.returncode == 0, launched.stderr[-3000:]
    run_id, success = launched.stdout.split()
    assert success == "True"
    assert launched.stderr.strip() == ""  # the event log went to the instance, not the terminal

    with define_out_of_process_context(str(PROJECT / "workspace.yaml"), None, user_instance) as context:

        def ask(query: str, **variables) -> dict:
            result = execute_dagster_graphql(context, query, variables)
            assert not result.errors, result.errors
            return result.data

        # the job's runs, as its page asks for them: by job name and code location
        label = {"key": ".dagster/repository", "value": "__repository__@dataplatform"}
        runs = ask(RUNS_OF_JOB, filter={"pipelineName": "ecommerce_master", "tags": [label]})
        [shown] = runs["runsOrError"]["results"]
        assert shown["runId"] == run_id and shown["status"] == "SUCCESS"
        origin = shown["repositoryOrigin"]
        assert (origin["repositoryLocationName"], origin["repositoryName"]) == (
            "dataplatform",
            "__repository__",
        )
        # the asset's page links its latest materialisation to the run
        asset = ask(MATERIALISED_BY, path=["silver", "ecommerce", "customers"])["assetOrError"]
        assert asset["assetMaterializations"] == [{"runId": run_id}]

        launched_again = ask(REEXECUTE, runId=run_id)["launchRunReexecution"]
        assert launched_again["__typename"] == "LaunchRunSuccess", launched_again
        child = launched_again["run"]["runId"]
        assert user_instance.get_run_by_id(child).status == dg.DagsterRunStatus.QUEUED
        with QueuedRunCoordinatorDaemon(interval_seconds=1) as daemon:  # what `dagster dev` runs
            list(daemon.run_iteration(context.process_context))
        deadline = time.monotonic() + 300
        while not user_instance.get_run_by_id(child).is_finished:
            assert time.monotonic() < deadline, "the re-execution did not finish"
            time.sleep(0.5)
    assert user_instance.get_run_by_id(child).status == dg.DagsterRunStatus.SUCCESS
