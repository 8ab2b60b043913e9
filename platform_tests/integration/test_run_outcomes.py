"""Failed and canceled runs in gold/platform/pipeline_runs, and each job's success rate per day."""

from __future__ import annotations

import shutil

import dagster as dg
import numpy as np

from platform_tests.conftest import DAY
from platform_tests.integration.conftest import Platform

D1 = DAY.isoformat()


def test_a_failed_and_a_canceled_run_are_recorded_with_their_step_and_error(platform: Platform):
    assert platform.run("weather_master").success
    assert platform.run("weather_daily", D1).success
    # silver reads bronze: with bronze gone, the silver step fails for real
    shutil.rmtree(platform.settings.data_dir / "lake" / "delta" / "bronze" / "weather" / "observations")
    failed = platform.run(
        "weather_daily",
        D1,
        asset_selection=[
            dg.AssetKey(["silver", "weather", t]) for t in ("observations", "observations_quarantine")
        ],
    )
    assert not failed.success
    queued = platform.instance.create_run_for_job(job_def=platform.defs.resolve_job_def("weather_master"))
    platform.instance.report_run_canceled(queued)
    assert platform.run("platform_metrics").success

    rows = platform.read("gold/platform/pipeline_runs").to_pylist()
    failure = [r for r in rows if r["run_id"] == failed.run_id]
    assert len(failure) == 1, failure
    (row,) = failure
    assert (row["event"], row["run_status"], row["job"], row["partition"]) == (
        "step_failure",
        "FAILURE",
        "weather_daily",
        D1,
    )
    assert (row["step"], row["asset"], row["layer"]) == (
        "silver_weather_observations",
        "silver/weather/observations",
        "silver",
    )
    assert row["error_class"] and not row["error_class"].startswith("Dagster"), row["error_class"]
    (canceled,) = [r for r in rows if r["run_id"] == queued.run_id]
    assert (canceled["event"], canceled["run_status"], canceled["job"]) == (
        "run_canceled",
        "CANCELED",
        "weather_master",
    )
    succeeded = [r for r in rows if r["job"] == "weather_daily" and r["event"] == "materialization"]
    assert succeeded and {r["run_status"] for r in succeeded} == {"SUCCESS"}
    assert all(r["step"] for r in succeeded)

    summary = platform.read("gold/platform/job_success").to_pylist()
    daily = [r for r in summary if r["job"] == "weather_daily"]
    assert sum(r["runs"] for r in daily) == 2 and sum(r["failed"] for r in daily) == 1
    assert sum(r["succeeded"] for r in daily) == 1
    master = [r for r in summary if r["job"] == "weather_master"]
    assert sum(r["runs"] for r in master) == 2 and sum(r["canceled"] for r in master) == 1
    for r in summary:
        assert r["success_rate"] == round(r["succeeded"] / r["runs"], 4)
    records = platform.instance.get_run_records(filters=dg.RunsFilter(job_name="weather_daily"))
    durations = [r.end_time - r.start_time for r in records]
    if len(daily) == 1:  # both runs started on one UTC day (not across midnight)
        assert daily[0]["mean_duration_s"] == round(float(np.mean(durations)), 3)
        assert daily[0]["p95_duration_s"] == round(float(np.percentile(durations, 95)), 3)
    assert "platform_metrics" not in {r["job"] for r in summary}  # still running while it is built
