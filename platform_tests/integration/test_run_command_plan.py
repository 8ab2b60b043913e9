"""The runs `dataplatform run` makes: every gold table of the graph, gold across domains included,
each after what it reads."""

from __future__ import annotations

from dataplatform.defs import build_definitions
from dataplatform.defs.runs import run_plan
from dataplatform.domains import generated

DAYS = ["2026-03-09", "2026-03-10"]


def test_the_plan_builds_every_gold_table_after_the_days_it_reads(settings):
    defs = build_definitions(settings)
    plan = run_plan({job.name for job in defs.jobs}, list(generated()), DAYS)
    built: dict[tuple[str, ...], list[int]] = {}
    for position, (job_name, _) in enumerate(plan):
        for key in defs.resolve_job_def(job_name).asset_layer.executable_asset_keys:
            built.setdefault(tuple(key.path), []).append(position)

    gold = {
        tuple(key.path) for key in defs.resolve_asset_graph().get_all_asset_keys() if key.path[0] == "gold"
    }
    assert ("gold", "insights", "sales_weather") in gold
    assert gold <= set(built)
    for day in DAYS:  # each day's gold across domains runs once every domain's day is in
        across = plan.index(("insights_daily", day))
        assert all(plan.index((f"{d}_daily", day)) < across for d in generated())
    assert plan[-1] == ("platform_metrics", None)
    assert plan[: len(generated())] == [(f"{d}_master", None) for d in generated()]
