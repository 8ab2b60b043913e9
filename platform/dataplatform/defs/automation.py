"""What runs on its own once a daemon serves the code location: schedules, the drop-folder sensor
and declarative automation, all running by default and all stopped by `DATAPLATFORM_AUTOMATION=off`.

A schedule's time is its default unless `DATAPLATFORM_SCHEDULES__<NAME>` gives another cron
(UTC). A name that matches no schedule is refused when the definitions are built, so a typo
never leaves a schedule silently at its old time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import dagster as dg

from dataplatform.settings import ENV_PREFIX, Settings, SettingsError

AUTOMATION_SENSOR = "declarative_automation"
# the one cron form a daily partitioned schedule takes: its minute and hour
DAILY_CRON = re.compile(r"^(\d{1,2})\s+(\d{1,2})\s+\*\s+\*\s+\*$")


def schedule_status(settings: Settings) -> dg.DefaultScheduleStatus:
    return dg.DefaultScheduleStatus.RUNNING if settings.automation else dg.DefaultScheduleStatus.STOPPED


def sensor_status(settings: Settings) -> dg.DefaultSensorStatus:
    return dg.DefaultSensorStatus.RUNNING if settings.automation else dg.DefaultSensorStatus.STOPPED


def cron_schedule(job, cron: str, settings: Settings) -> dg.ScheduleDefinition:
    """`job` at `cron` (UTC), or at the cron the settings give its schedule."""
    name = f"{job.name}_schedule"
    return dg.ScheduleDefinition(
        name=name,
        job=job,
        cron_schedule=settings.schedules.get(name, cron),
        execution_timezone="UTC",
        default_status=schedule_status(settings),
    )


def daily_schedule(job, hour_of_day: int, settings: Settings):
    """The last complete day of a daily partitioned `job`, each day at `hour_of_day` (UTC) or at
    the `M H * * *` the settings give. Built by Dagster from the partitions, so the UI shows the
    partition each tick ran and a daemon that was down catches up on the days it missed."""
    name = f"{job.name}_schedule"
    minute, hour = 0, hour_of_day
    if name in settings.schedules:
        daily = DAILY_CRON.match(settings.schedules[name].strip())
        minute, hour = (int(daily.group(1)), int(daily.group(2))) if daily else (60, 24)
        if minute > 59 or hour > 23:
            raise SettingsError(
                f"{_variable(name)}={settings.schedules[name]!r}: a daily partitioned schedule runs once "
                "a day; give its minute (0-59) and hour (0-23) as 'M H * * *'"
            )
    return dg.build_schedule_from_partitioned_job(
        job, name=name, minute_of_hour=minute, hour_of_day=hour, default_status=schedule_status(settings)
    )


def check_schedule_names(schedules: Sequence, settings: Settings) -> None:
    """Refuse a cron override naming no schedule (a typo would otherwise change nothing)."""
    names = sorted(schedule.name for schedule in schedules)
    unknown = sorted(set(settings.schedules) - set(names))
    if unknown:
        raise SettingsError(
            f"{', '.join(_variable(name) for name in unknown)}: no such schedule; the schedules are "
            + ", ".join(names)
        )


def automation_sensor(settings: Settings) -> dg.AutomationConditionSensorDefinition:
    """Evaluates every asset's automation condition (silver and gold rebuild when upstream
    changed and its blocking checks passed), in the daemon, every 30 seconds."""
    return dg.AutomationConditionSensorDefinition(
        AUTOMATION_SENSOR,
        target=dg.AssetSelection.all(),
        default_status=sensor_status(settings),
        description="Materialises assets whose automation condition is true: silver and gold after "
        "upstream data changed and upstream's blocking checks passed.",
    )


def _variable(schedule_name: str) -> str:
    return f"{ENV_PREFIX}SCHEDULES__{schedule_name.upper()}"
