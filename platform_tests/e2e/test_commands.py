"""`dagster job execute`, the `dataplatform` CLI and the code location, as subprocesses."""

from __future__ import annotations

import json
import sys

import duckdb

from platform_tests.e2e.conftest import BIN, daily_job, run


def test_dagster_job_execute_runs_one_daily_partition(user_env, tmp_path):
    result = run(
        daily_job("2026-03-10"),
        user_env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "RUN_SUCCESS" in result.stderr + result.stdout
    warehouse = tmp_path / "data" / "warehouse.duckdb"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        days = con.execute("SELECT DISTINCT order_date::VARCHAR FROM gold_ecommerce.daily_sales").fetchall()
        orders = con.execute("SELECT sum(orders) FROM gold_ecommerce.daily_sales").fetchone()[0]
        countries = con.execute("SELECT count(*) FROM gold_insights.sales_weather").fetchone()[0]
    assert days == [("2026-03-10",)]
    assert orders > 250
    assert countries > 0  # gold across domains, built from master data the same run made


def test_cli_run_materialises_everything_and_reports_it(user_env):
    result = run([str(BIN / "dataplatform"), "run", "--days", "1", "--format", "json"], user_env, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    rows = {a["asset"]: a["rows"] for a in summary["assets"]}
    assert rows["gold/ecommerce/customer_value"] > 0
    assert rows["gold/ecommerce/daily_sales"] > 0
    assert rows["gold/insights/sales_weather"] > 0  # gold across domains
    runs = [(r["job"], r["partition"]) for r in summary["runs"] if r["success"] or r["job"] == "models"]
    assert len(runs) == len(summary["runs"]) == 13  # a model kept from champion is no failure
    assert {("ecommerce_master", None), ("platform_metrics", None), ("models", None)} <= set(runs)
    # the event log stays in the instance: nothing of it on the terminal
    assert [line for line in result.stderr.splitlines() if " - dagster - " in line] == []
    assert rows["landing/ecommerce/orders"] == rows["bronze/ecommerce/orders"]
    assert summary["data_dir"] == user_env["DATAPLATFORM_DATA_DIR"]

    # the run registered customers' value from gold as a dataset and trained its default models
    models = run([str(BIN / "dataplatform"), "models", "list", "--format", "json"], user_env)
    assert models.returncode == 0, models.stderr[-2000:]
    aliases = {m["name"]: m["aliases"] for m in json.loads(models.stdout)}
    assert aliases["customer_value__boosted"]["challenger"] == "1"
    assert "champion" in aliases["customer_value__baseline"]
    again = run([str(BIN / "dataplatform"), "run", "--days", "1", "--format", "json"], user_env, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    rerun = {a["asset"]: a["rows"] for a in json.loads(again.stdout.strip().splitlines()[-1])["assets"]}
    assert rerun.pop("gold/platform/pipeline_runs") > rows.pop("gold/platform/pipeline_runs") > 0
    # runs per day and job: the jobs that ran after the first run's metrics were gathered join it
    assert rerun.pop("gold/platform/job_success") >= rows.pop("gold/platform/job_success") > 0
    assert rerun == rows  # the tables that record runs aside, nothing changed
    retrained = run([str(BIN / "dataplatform"), "models", "list", "--format", "json"], user_env)
    assert {m["name"]: m["latest_version"] for m in json.loads(retrained.stdout)}[
        "customer_value__boosted"
    ] == 2


def test_invalid_setting_is_one_clear_line_without_traceback(user_env):
    user_env["DATAPLATFORM_STORAGE__GOLD"] = "mysql"
    result = run([str(BIN / "dataplatform"), "run"], user_env)
    assert result.returncode == 1
    output = (result.stdout + result.stderr).strip()
    assert "Traceback" not in output
    assert "DATAPLATFORM_STORAGE__GOLD='mysql'" in output
    assert "'parquet', 'delta', 'duckdb', 'postgres', 'iceberg' or 'ducklake'" in output


def test_code_location_loads_without_heavy_libraries(user_env):
    probe = (
        "import sys, dataplatform.definitions as d; defs = d.defs(); "
        "print(len(list(defs.assets)), sorted(m for m in ('pyarrow', 'duckdb', 'deltalake', 'pandas', 'numpy', 'great_expectations') "
        "if m in sys.modules))"
    )
    result = run([sys.executable, "-c", probe], user_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split(" ", 1)[1].strip() == "[]"


def test_parallel_multiprocess_runs_of_several_partitions_share_duckdb(user_env, tmp_path):
    """Two partitions at once, each run's steps in their own processes, all writing one DuckDB
    file: the DuckDB pool and lock waits keep every write whole, and no run fails on the lock.
    The smallest daily job (weather: five steps), since every step process loads the code
    location."""
    import subprocess

    user_env["DATAPLATFORM_EXECUTOR"] = "multiprocess"
    # A deployment's instance exists before its runs; many processes creating a fresh SQLite
    # instance at once race on its schema (a Dagster limitation, not the platform's).
    assert run([str(BIN / "dagster"), "instance", "migrate"], user_env).returncode == 0
    days = ["2026-03-10", "2026-03-11"]
    processes = [
        subprocess.Popen(
            daily_job(day, "weather_daily"),
            env=user_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for day in days
    ]
    outputs = [process.communicate(timeout=600)[0] for process in processes]
    for process, output in zip(processes, outputs, strict=True):
        assert process.returncode == 0, output[-3000:]
    with duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True) as con:
        found = con.execute(
            "SELECT DISTINCT observation_date::VARCHAR FROM gold_weather.daily_weather ORDER BY 1"
        ).fetchall()
    assert [d for (d,) in found] == days
