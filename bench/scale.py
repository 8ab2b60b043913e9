"""Beyond one machine's comfort: a day 20x the medallion bench's, and a backfill on Celery workers.

Two parts (`--part day|workers|all`, default all):

* day: the e-commerce day of each size in `--sizes` (orders; default `--rows` and 5x it, i.e.
  1M and 5M orders, a few minutes in all) through the platform's `ecommerce_daily` job for
  2026-11-20, as `bench/medallion.py` runs it: in a fresh data folder per size, the master job
  (100,000 customers, 5,000 products; setup, untimed) in a process of its own, the landing step
  (generating the day a chunk at a time and writing it) in a second, then bronze, silver, gold
  and every check in a third. Each process's peak RSS is its own (see `_harness.py`). Reported per size: seconds
  and time per row (rows: landing orders plus order items), peak memory of landing and of the
  rest, and each step's seconds; then how time per row and peak memory grow from the smallest
  size to the largest. Goal: time per row at the largest within 1.3x of the smallest, and peak
  memory bounded by the settings, not by the day: `DATAPLATFORM_DUCKDB_MEMORY_LIMIT` (DuckDB's
  database in each process; `--memory-limit`) and `DATAPLATFORM_GENERATE_CHUNK_ROWS` (rows the
  generator holds at once; `--chunk-rows`).

  The run the issue asks for, 5M and 100M orders (353M rows at 100M; 71 minutes on a loaded
  2-core machine; 42 GB of disk at the peak: the lake's 33 GB in the work folder, and DuckDB's
  working tables, compressed beyond the memory limit, 12 GB in the temporary folder):

      .venv/bin/python bench/scale.py --part day --sizes 5000000,100000000

  Landing memory is bounded on either landing backend: Delta and the Parquet store (the
  default) both write a stream a batch at a time.

* workers: the 8-day backfill (`--backfill-orders` orders a day, default 50,000) with 1 and 2
  Celery workers, from `bench/_scale_workers.py` (written with the Celery executor; see there
  what is timed): the wall time of each and the speed-up. It needs a broker (`--broker`, default
  `DATAPLATFORM_CELERY_BROKER`) and a PostgreSQL server for the instance (`--postgres-url`,
  default `DATAPLATFORM_TEST_POSTGRES_URL`); without them the part says so and is skipped.

Sizes are one run each (`--repeat` to repeat a size in its processes); the load average before
each process is printed, since the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
from dataclasses import dataclass
from pathlib import Path

from _harness import MIB, Figure, Outcome, Trial, Workload, parse_args, report, run_isolated, work_folder
from medallion import PARTITION, QUIET, _daily, prepare_platform

DOMAIN = "ecommerce"
GOAL_TIME_PER_ROW = 1.3  # largest size against the smallest
ROWS_PER_ORDER = 3.5  # an order and its ~2.5 items, as bronze takes them in
PARTS = ("day", "workers", "all")
BACKFILL_DAYS = 8


@dataclass(frozen=True)
class SizeRun:
    """One size: the landing process and the process of everything after it."""

    orders: int
    landing: Trial
    medallion: Trial

    @property
    def rows(self) -> int:
        return self.landing.rows

    @property
    def seconds(self) -> tuple[float, ...]:
        return tuple(a + b for a, b in zip(self.landing.seconds, self.medallion.seconds, strict=True))

    @property
    def peak(self) -> int:
        return max(self.landing.peak_rss, self.medallion.peak_rss)

    def microseconds_per_row(self) -> float:
        return statistics.median(self.seconds) / self.rows * 1e6

    def steps(self) -> dict[str, float]:
        """Median seconds of each step: landing, then the job's steps as Dagster timed them."""
        names = [k for k in self.medallion.outcomes[-1].parts if k.startswith("step ")]
        steps = {"landing": statistics.median(self.landing.seconds)}
        steps |= {n.removeprefix("step "): statistics.median(self.medallion.part(n)) for n in names}
        return steps


def main() -> None:
    args = parse_args(__doc__ or "", default_rows=1_000_000, add=_options, default_repeat=1)
    if args.part not in PARTS:
        raise SystemExit(f"--part: {args.part!r}; use one of {', '.join(PARTS)}")
    sizes = _sizes(args)
    _configure(args)
    runs: list[SizeRun] = []
    workers = None
    with work_folder(args.work_dir, "bench-scale-") as work:
        if args.part in ("day", "all"):
            runs = [run_size(orders, work, args.repeat) for orders in sizes]
        if args.part in ("workers", "all"):
            workers = run_workers(work, args)
    if runs or workers is not None:
        report_scale(runs, args, workers)


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--part", default="all", help="day, workers or all (default all)")
    parser.add_argument(
        "--sizes",
        help="orders per day, comma-separated (default: --rows and 5x --rows); the issue's: 5000000,100000000",
    )
    parser.add_argument(
        "--chunk-rows", type=int, help="DATAPLATFORM_GENERATE_CHUNK_ROWS (default: the setting)"
    )
    parser.add_argument("--memory-limit", help="DATAPLATFORM_DUCKDB_MEMORY_LIMIT (default: the setting)")
    parser.add_argument(
        "--landing-backend",
        choices=("parquet", "delta"),
        help="DATAPLATFORM_STORAGE__LANDING (default: the setting)",
    )
    parser.add_argument(
        "--work-dir", type=Path, help="where data goes (default: a new temporary folder, removed)"
    )
    parser.add_argument("--backfill-orders", type=int, default=50_000, help="orders a day in the backfill")
    parser.add_argument("--broker", help="Celery broker URL (default: DATAPLATFORM_CELERY_BROKER)")
    parser.add_argument(
        "--postgres-url", help="PostgreSQL server for the instance (default: DATAPLATFORM_TEST_POSTGRES_URL)"
    )


def _sizes(args: argparse.Namespace) -> list[int]:
    if not args.sizes:
        return [args.rows, 5 * args.rows]
    try:
        sizes = sorted({int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()})
    except ValueError:
        raise SystemExit(
            f"--sizes {args.sizes!r}: give whole numbers of orders, e.g. 5000000,100000000"
        ) from None
    if not sizes or sizes[0] < 1:
        raise SystemExit(f"--sizes {args.sizes!r}: give one or more positive numbers of orders")
    return sizes


def _configure(args: argparse.Namespace) -> None:
    """The settings under test, for the processes spawned from here (they inherit the environment)."""
    chosen = {
        "DATAPLATFORM_GENERATE_CHUNK_ROWS": args.chunk_rows and str(args.chunk_rows),
        "DATAPLATFORM_DUCKDB_MEMORY_LIMIT": args.memory_limit,
        "DATAPLATFORM_STORAGE__LANDING": args.landing_backend,
    }
    os.environ.update({name: value for name, value in chosen.items() if value})
    from dataplatform.settings import load_settings

    load_settings()  # a bad value stops here, naming its variable


def run_size(orders: int, work: Path, repeat: int) -> SizeRun:
    """The day of `orders` orders in a data folder of its own, removed afterwards (a 100M day
    is tens of GB)."""
    folder = work / f"orders-{orders}"
    run_isolated(prepare_master, str(folder), orders, repeat=1)
    print(f"{orders:,} orders: landing (load average {os.getloadavg()[0]:.2f})", flush=True)
    landing = run_isolated(prepare_landing, str(folder), orders, repeat=repeat)
    print(
        f"{orders:,} orders: landed {landing.rows:,} rows in {statistics.median(landing.seconds):.1f} s; "
        f"bronze to gold (load average {os.getloadavg()[0]:.2f})",
        flush=True,
    )
    medallion = run_isolated(prepare_platform, str(folder), DOMAIN, orders, repeat=repeat)
    print(f"{orders:,} orders: bronze to gold in {statistics.median(medallion.seconds):.1f} s", flush=True)
    shutil.rmtree(folder, ignore_errors=True)
    return SizeRun(orders, landing, medallion)


def prepare_master(data_dir: str, orders: int) -> Workload:
    """The `ecommerce_master` job: setup of a size, in a process of its own so its memory is
    not charged to landing."""
    import dagster as dg

    defs, _ = _daily(data_dir, DOMAIN, orders, landing=True)
    master = defs.resolve_job_def(f"{DOMAIN}_master")

    def run() -> Outcome:
        if not master.execute_in_process(instance=dg.DagsterInstance.ephemeral(), run_config=QUIET).success:
            raise RuntimeError(f"{DOMAIN}_master failed")
        return Outcome(0)

    return run


def prepare_landing(data_dir: str, orders: int) -> Workload:
    """The job's landing step for the day: generated a chunk at a time and written to landing."""
    _, run = _daily(data_dir, DOMAIN, orders, landing=True)
    landed = {("landing", DOMAIN, table) for table in ("orders", "order_items")}

    def deliver() -> Outcome:
        result = run()
        return Outcome(
            sum(
                e.materialization.metadata["dagster/row_count"].value
                for e in result.get_asset_materialization_events()
                if e.asset_key and tuple(e.asset_key.path) in landed
            )
        )

    return deliver


def run_workers(work: Path, args: argparse.Namespace):
    """The 8-day backfill with 1 and 2 Celery workers (`_scale_workers.Speedup`), or None, saying
    why, when `bench/_scale_workers.py` or the servers it needs are not there."""
    try:
        import _scale_workers
    except ModuleNotFoundError:
        print("workers: bench/_scale_workers.py is not there; the backfill part is skipped")
        return None
    broker = args.broker or os.environ.get("DATAPLATFORM_CELERY_BROKER")
    postgres_url = args.postgres_url or os.environ.get("DATAPLATFORM_TEST_POSTGRES_URL")
    if not broker or not postgres_url:
        print(
            "workers: skipped, it needs a broker (--broker or DATAPLATFORM_CELERY_BROKER) and a "
            "PostgreSQL server (--postgres-url or DATAPLATFORM_TEST_POSTGRES_URL)"
        )
        return None
    print(f"workers: the {BACKFILL_DAYS}-day backfill on 1, then 2 workers", flush=True)
    return _scale_workers.backfill_speedup(
        work / "workers", broker, postgres_url, args.backfill_orders, days=BACKFILL_DAYS
    )


def report_scale(runs: list[SizeRun], args: argparse.Namespace, workers) -> None:
    """One report of both parts: the days by size (the largest the subject, the smaller its
    anchors), the backfill's two runs (2 workers the subject, so its ratio is the speed-up)."""
    from dataplatform.settings import load_settings

    settings = load_settings()
    figures: list[Figure] = []
    notes: list[str] = []
    extra: dict[str, object] = {}
    if runs:
        figures, notes, extra = _days(runs, settings)
    if workers is not None:
        figures += workers.figures(BACKFILL_DAYS)
        notes.append(
            f"{BACKFILL_DAYS}-day backfill of {args.backfill_orders:,} orders a day: 1 worker "
            f"{workers.one.seconds:.1f} s (load average {workers.one.load_average}), 2 workers "
            f"{workers.two.seconds:.1f} s (load average {workers.two.load_average}): "
            f"speed-up {workers.speedup:.2f}x"
        )
        extra["workers"] = workers.as_json()
    report(
        "scale",
        figures,
        {
            "part": args.part,
            "sizes": [run.orders for run in runs],
            "repeat": args.repeat,
            "day": PARTITION,
            "duckdb_memory_limit": settings.duckdb_memory_limit,
            "generate_chunk_rows": settings.generate_chunk_rows,
            "landing_backend": settings.layer_backend("landing"),
            "backfill_days": BACKFILL_DAYS,
            "backfill_orders": args.backfill_orders,
        },
        notes,
        **extra,
    )


def _days(runs: list[SizeRun], settings) -> tuple[list[Figure], list[str], dict[str, object]]:
    """The days' rows of the table, notes on their growth, and their figures for the JSON line."""
    smallest, largest = runs[0], runs[-1]
    figures = []
    for run in runs:
        figures += [
            Figure(
                f"day of {run.orders:,} orders, landing to gold",
                run.rows,
                run.seconds,
                run.medallion.base_rss,
                run.peak,
                "subject" if run is largest else "anchor",
            ),
            Figure.of(f"  landing ({run.orders:,})", run.landing, rows=run.rows),
            Figure.of(f"  bronze to gold and checks ({run.orders:,})", run.medallion, rows=run.rows),
        ]
    growth = largest.microseconds_per_row() / smallest.microseconds_per_row()
    notes = [
        f"settings: DATAPLATFORM_DUCKDB_MEMORY_LIMIT={settings.duckdb_memory_limit}, "
        f"DATAPLATFORM_GENERATE_CHUNK_ROWS={settings.generate_chunk_rows:,}, "
        f"landing on {settings.layer_backend('landing')}",
        *(
            f"{run.orders:,} orders: {run.microseconds_per_row():.2f} us per row; peak landing "
            f"{run.landing.peak_rss / MIB:,.0f} MiB, bronze to gold {run.medallion.peak_rss / MIB:,.0f} MiB; "
            + ", ".join(f"{step} {seconds:.1f} s" for step, seconds in run.steps().items())
            for run in runs
        ),
        f"time per row at {largest.orders:,} orders / at {smallest.orders:,}: {growth:.2f}x "
        f"(goal at most {GOAL_TIME_PER_ROW}x: {'met' if growth <= GOAL_TIME_PER_ROW else 'NOT met'})",
        f"peak memory at {largest.orders:,} orders / at {smallest.orders:,}: landing "
        f"{largest.landing.peak_rss / smallest.landing.peak_rss:.2f}x, bronze to gold "
        f"{largest.medallion.peak_rss / smallest.medallion.peak_rss:.2f}x, for "
        f"{largest.rows / smallest.rows:.1f}x the rows",
    ]
    extra = {
        "days": {
            str(run.orders): {
                "rows": run.rows,
                "us_per_row": round(run.microseconds_per_row(), 3),
                "landing_peak_mib": round(run.landing.peak_rss / MIB, 1),
                "medallion_peak_mib": round(run.medallion.peak_rss / MIB, 1),
                "medallion_base_mib": round(run.medallion.base_rss / MIB, 1),
                "steps_s": {k: round(v, 3) for k, v in run.steps().items()},
            }
            for run in runs
        },
        "time_per_row_growth": round(growth, 3),
    }
    return figures, notes, extra


if __name__ == "__main__":
    main()
