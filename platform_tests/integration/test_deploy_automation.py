"""What a deployment's daemon starts on its own: every schedule and sensor running by default,
all stopped by one setting, and schedule times changed by name (a typo refused, not ignored)."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import pytest

from dataplatform.defs import build_definitions
from dataplatform.defs.automation import AUTOMATION_SENSOR
from dataplatform.settings import SettingsError
from platform_tests.conftest import small_settings

DOMAINS_WITH_SUMMARIES = ("ecommerce", "sensors")


def repository(tmp_path, **overrides) -> dg.RepositoryDefinition:
    return build_definitions(small_settings(tmp_path, **overrides)).get_repository_def()


def test_every_schedule_and_sensor_runs_by_default_and_one_setting_stops_them_all(tmp_path):
    running = repository(tmp_path)
    schedules = {s.name: s.default_status for s in running.schedule_defs}
    expected = {
        f"{d}_{kind}_schedule"
        for d in ("ecommerce", "market", "sensors", "weather")
        for kind in ("master", "daily")
    }
    expected |= {f"{d}_summaries_schedule" for d in DOMAINS_WITH_SUMMARIES} | {"platform_metrics_schedule"}
    assert set(schedules) == expected
    assert set(schedules.values()) == {dg.DefaultScheduleStatus.RUNNING}
    sensors = {s.name: s.default_status for s in running.sensor_defs}
    assert sensors == {
        "reference_dropzone": dg.DefaultSensorStatus.RUNNING,
        AUTOMATION_SENSOR: dg.DefaultSensorStatus.RUNNING,
    }
    # the automation sensor covers every asset with a condition: no default sensor left stopped
    graph = running.asset_graph
    automated = {key for key in graph.get_all_asset_keys() if graph.get(key).automation_condition}
    assert automated and automated <= running.get_sensor_def(AUTOMATION_SENSOR).asset_selection.resolve(graph)

    stopped = repository(tmp_path, automation=False)
    assert {s.default_status for s in stopped.schedule_defs} == {dg.DefaultScheduleStatus.STOPPED}
    assert {s.default_status for s in stopped.sensor_defs} == {dg.DefaultSensorStatus.STOPPED}


def test_a_schedule_time_is_set_by_its_name_and_the_daily_one_still_runs_yesterdays_partition(tmp_path):
    repo = repository(
        tmp_path,
        schedules={"platform_metrics_schedule": "*/5 * * * *", "ecommerce_daily_schedule": "15 6 * * *"},
    )
    assert repo.get_schedule_def("platform_metrics_schedule").cron_schedule == "*/5 * * * *"
    assert repo.get_schedule_def("ecommerce_master_schedule").cron_schedule == "30 0 * * *"  # untouched
    daily = repo.get_schedule_def("ecommerce_daily_schedule")
    assert (daily.cron_schedule, daily.execution_timezone) == ("15 6 * * *", "UTC")
    with dg.build_schedule_context(
        scheduled_execution_time=datetime(2026, 3, 11, 6, 15, tzinfo=UTC)
    ) as context:
        [request] = daily.evaluate_tick(context).run_requests
    assert request.partition_key == "2026-03-10"


@pytest.mark.parametrize(
    ("schedules", "message"),
    [
        (
            {"ecommerce_daily": "0 6 * * *"},
            "DATAPLATFORM_SCHEDULES__ECOMMERCE_DAILY: no such schedule; the schedules are ecommerce_daily_schedule",
        ),
        (
            {"weather_daily_schedule": "*/5 * * * *"},
            "DATAPLATFORM_SCHEDULES__WEATHER_DAILY_SCHEDULE='*/5 * * * *': a daily partitioned schedule runs "
            "once a day",
        ),
    ],
)
def test_a_schedule_setting_the_platform_cannot_follow_is_refused_naming_the_variable(
    tmp_path, schedules, message
):
    with pytest.raises(SettingsError, match=message.replace("*", r"\*")):
        repository(tmp_path, schedules=schedules)
