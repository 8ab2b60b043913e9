"""Registering an ML dataset: the platform's `DatasetClient.register` against the legacy pandas + SQLite way.

What is compared, on the same input, each contender in its own freshly spawned process:

* Input (built once, untimed): a CSV of `--rows` rows (default 1,000,000) and 20 columns, seeded
  numpy data written by DuckDB: `row_id` (a unique integer), 8 float columns, 4 integer counts
  (0..499), 4 colour categories, a date (`event_date`, about four years of days), a short
  free-text note (four phrases) and a 0/1 `target`. About 230 MB at a million rows.
* platform, subject: `DatasetClient(data_dir).register(csv, name="bench", force=True)`: DuckDB's
  sniffer finds the CSV's dialect and column types; pyarrow parses the file with them, in parts
  cut at line breaks (the file has no quoting), on every core, and each part is written as it
  comes into one Parquet file (snappy) beside the dataset store (a `.duckdb` file, which keeps a
  view over it); the numeric columns are counted and sorted for their statistics from the table
  in memory while the last parts are written. Then it detects ids, target, problem type and
  column types, computes the rest of every column's statistics (count, nulls, distinct, min,
  max, mean, std, quartiles, top values, the target's distribution) and fits the generic
  features (z-score, log1p and quartile bins of 12 numeric columns, date parts, category
  frequencies), storing their fitted values and a view that computes them when read, all in
  one transaction, and writes the YAML spec. Each repetition replaces the dataset
  (`force=True`), as a re-registration would: the new version's file is written beside the old
  one, which is removed once the store commits. Its parts (reading, detecting, statistics,
  features) are timed from the progress callback; "reading" includes writing the Parquet file
  and the numeric columns' distinct counts, quartiles, means and spreads.
* legacy, anchor: what the seed code did: `pandas.read_csv`, `DataFrame.to_sql` into a SQLite
  file (`if_exists="replace"`, pandas' default batching: STYLE.md measured `method="multi"` 4x
  slower, so the anchor gets the faster one), then per-column statistics in pandas (count, nulls,
  `nunique`, min, max; mean, std and quartiles of numeric columns; `value_counts().head(5)`). No
  detection and no features: the platform does strictly more work.
* load(sample=10_000), info: `client.load("bench", sample=10_000)` of the dataset registered in
  setup (untimed): a seeded reservoir sample of 10,000 rows of every column as pandas, read from
  the split's Parquet file through its view, read-only connection opened per call as a notebook
  would. Goal: under 0.2 s.
* load(features=True), info: `client.load("bench", features=True)`: every feature of all train
  rows as pandas, computed by the view as it is read; the part of the features' cost that moved
  from registration to reading, shown so it is not hidden.

The statistics themselves are checked against pandas by the test suite
(`platform_tests/unit/test_datasets_stats.py`), not here. Goal: the platform's registration at
least 5x faster than the legacy path (ratio >= 5).

Timing and memory (peak RSS of a fresh spawned process): see `_harness.py`. The platform and the
legacy path take turns, one repetition each in its own fresh process (platform, legacy, platform,
...), so a change in the load of the shared machine during the run falls on both alike; each
process first registers (or reads, stores and describes) a 1,000-row slice of the input, untimed,
so first-call costs (imports, DuckDB importing pandas on its first parameterised query) stay
out of the figures. The load average is printed before each turn.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

from _harness import Figure, Outcome, Workload, in_turns, parse_args, report, run_isolated

SEED = 42
SAMPLE_ROWS = 10_000
GOAL_SPEED_UP = 5.0
GOAL_SAMPLE_SECONDS = 0.2
PARTS = ("reading", "detecting", "computing", "building", "saving")
WARM_UP_ROWS = 1_000


def write_input(rows: int, path: Path) -> None:
    """The benchmark CSV: seeded numpy columns written by DuckDB's COPY."""
    import duckdb
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(SEED)
    columns: dict[str, object] = {"row_id": np.arange(rows)}
    for i in range(8):
        columns[f"num_{i}"] = rng.normal(size=rows)
    for i in range(4):
        columns[f"count_{i}"] = rng.integers(0, 500, rows)
    colours = np.array(["red", "green", "blue", "black", "white"])
    for i in range(4):
        columns[f"cat_{i}"] = pa.array(colours[rng.integers(0, len(colours), rows)])
    columns["event_date"] = pa.array(
        np.datetime64("2020-01-01") + rng.integers(0, 1500, rows).astype("timedelta64[D]")
    )
    notes = np.array(["fast delivery and good", "late again", "ok", "would buy again from this shop"])
    columns["note"] = pa.array(notes[rng.integers(0, len(notes), rows)])
    columns["target"] = rng.integers(0, 2, rows)
    with duckdb.connect() as con:
        con.register("input", pa.table(columns))
        con.execute("COPY input TO ? (FORMAT csv, HEADER true)", [str(path)])


def warm_up_input(csv: Path) -> Path:
    """The first rows of the input, for the untimed first call of each contender's process."""
    slice_path = csv.with_name("warm_up.csv")
    if not slice_path.exists():
        with csv.open() as source, slice_path.open("w") as target:
            target.writelines(itertools.islice(source, WARM_UP_ROWS + 1))
    return slice_path


def prepare_platform(csv: Path, work: Path) -> Workload:
    from dataplatform.datasets.client import DatasetClient

    client = DatasetClient(work / "platform")
    client.register(warm_up_input(csv), name="warm_up", force=True)

    def workload() -> Outcome:
        marks: list[tuple[str, float]] = []
        started = time.perf_counter()
        client.register(
            csv, name="bench", force=True, progress=lambda step: marks.append((step, time.perf_counter()))
        )
        marks.append(("end", time.perf_counter()))
        parts: dict[str, float] = dict.fromkeys(PARTS, 0.0)
        for (step, at), (_, following) in itertools.pairwise(marks):
            parts[step.split()[0]] += following - at  # "reading train" and "reading test" add up
        parts["setup"] = marks[0][1] - started  # name and source checks, opening the store
        return Outcome(rows=client.info("bench")["rows"]["train"], parts=parts)

    return workload


def prepare_legacy(csv: Path, work: Path) -> Workload:
    import pandas as pd

    database = work / "legacy.sqlite"

    def register(path: Path, table: str) -> Outcome:
        started = time.perf_counter()
        frame = pd.read_csv(path)
        read = time.perf_counter()
        with sqlite3.connect(database) as con:
            frame.to_sql(table, con, if_exists="replace", index=False)
        stored = time.perf_counter()
        stats = {}
        for name in frame.columns:
            series = frame[name]
            figures = {
                "count": series.count(),
                "nulls": series.isna().sum(),
                "distinct": series.nunique(),
                "min": series.min(),
                "max": series.max(),
                "top_values": series.value_counts().head(5),
            }
            if pd.api.types.is_numeric_dtype(series):
                figures |= {
                    "mean": series.mean(),
                    "std": series.std(),
                    "quantiles": series.quantile([0.25, 0.5, 0.75]),
                }
            stats[name] = figures
        done = time.perf_counter()
        return Outcome(
            rows=len(frame),
            parts={"reading": read - started, "to_sql": stored - read, "statistics": done - stored},
        )

    register(warm_up_input(csv), "warm_up")
    return lambda: register(csv, "train")


def prepare_sample(csv: Path, work: Path) -> Workload:
    from dataplatform.datasets.client import DatasetClient

    client = DatasetClient(work / "sample")
    client.register(csv, name="bench", force=True)

    def workload() -> Outcome:
        return Outcome(rows=len(client.load("bench", sample=SAMPLE_ROWS)))

    return workload


def prepare_features(csv: Path, work: Path) -> Workload:
    from dataplatform.datasets.client import DatasetClient

    client = DatasetClient(work / "sample")  # registered by prepare_sample
    client.load("bench", features=True, sample=WARM_UP_ROWS)  # first-call costs, untimed
    return lambda: Outcome(rows=len(client.load("bench", features=True)))


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--work-dir", type=Path, default=None, help="keep the input and stores here")


def main() -> None:
    args = parse_args(__doc__ or "", default_rows=1_000_000, add=_options)
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="bench-datasets-"))
    try:
        work.mkdir(parents=True, exist_ok=True)
        csv = work / "bench.csv"
        write_input(args.rows, csv)
        print(
            f"registering a {args.rows:,}-row, 20-column CSV ({csv.stat().st_size / 1e6:,.0f} MB); {args.repeat} runs"
        )
        platform, legacy = in_turns(
            ((prepare_platform, (csv, work)), (prepare_legacy, (csv, work))), args.repeat
        )
        print(f"load(sample={SAMPLE_ROWS:_}): load average {os.getloadavg()[0]:.2f}", flush=True)
        sample = run_isolated(prepare_sample, csv, work, repeat=max(5, args.repeat))
        features = run_isolated(prepare_features, csv, work, repeat=args.repeat)
    finally:
        if args.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)

    figures = [
        Figure.of("platform register: read into Parquet, detect, statistics, features", platform, "subject"),
        Figure.of("legacy: pandas read_csv, to_sql into SQLite, pandas statistics", legacy, "anchor"),
        Figure.of(f"load(sample={SAMPLE_ROWS:_}) of the registered dataset", sample),
        Figure.of("load(features=True): every feature of train, computed on read", features),
    ]
    speed_up = figures[1].median / figures[0].median
    sample_seconds = figures[2].median

    def parts(trial, names) -> str:
        return ", ".join(f"{n} {sorted(trial.part(n))[len(trial.seconds) // 2]:.2f} s" for n in names)

    notes = [
        f"platform parts (median): {parts(platform, ('setup', *PARTS))}",
        f"legacy parts (median): {parts(legacy, ('reading', 'to_sql', 'statistics'))}",
        f"speed-up over legacy: {speed_up:.2f}x (goal at least {GOAL_SPEED_UP:.0f}x: "
        f"{'met' if speed_up >= GOAL_SPEED_UP else 'NOT met'})",
        f"load(sample={SAMPLE_ROWS:_}): {sample_seconds:.3f} s (goal under {GOAL_SAMPLE_SECONDS} s: "
        f"{'met' if sample_seconds < GOAL_SAMPLE_SECONDS else 'NOT met'})",
    ]
    report(
        "datasets",
        figures,
        {"rows": args.rows, "repeat": args.repeat},
        notes,
        speed_up=round(speed_up, 3),
        sample_seconds=round(sample_seconds, 4),
        features_seconds=round(figures[3].median, 4),
    )


if __name__ == "__main__":
    main()
