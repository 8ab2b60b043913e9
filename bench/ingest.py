"""Reference-file ingestion: a delivered CSV through the platform against DuckDB's read_csv.

What is compared, on one CSV of `--rows` rows and 10 columns (integers, a code with leading
zeros, text, decimals, ISO dates, booleans; about 75 bytes a row):

* platform: `Ingestor.ingest()` on the file in the drop folder, what the sensor's run and
  `dataplatform ingest` do: content hash, format detection, a typed read with every misfit
  reported by row, a full load into a new Delta table, the ledger entry, the move to the
  archive. Each repetition starts from an empty lake with the file hard-linked into
  `incoming/` (so the repetition's own move costs nothing).
* DuckDB: `CREATE TABLE t AS SELECT * FROM read_csv(file)` with DuckDB's own sniffing, into a
  fresh database file: the fastest way anyone loads a CSV into a table here. It hashes nothing,
  records nothing, and keeps `code` as an integer (its leading zeros lost), all in its favour.
* legacy: `pandas.read_csv` then `DataFrame.to_sql` into SQLite in batches of 990 rows (the
  common way under SQLite's bound-variable limit), on `--legacy-rows` rows (default 200,000):
  it costs the same per row at any size, and the ratio compares rows per second.

Goal: the platform within 1.5x of DuckDB's time. Timing and memory: see `_harness.py`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from _harness import Figure, Outcome, Workload, parse_args, report, run_isolated, work_folder

LEGACY_BATCH = 990


def write_csv(path: Path, rows: int) -> None:
    import duckdb

    with duckdb.connect() as con:
        con.execute(
            f"""
            COPY (
                SELECT i AS id,
                       lpad((i % 100000)::VARCHAR, 6, '0') AS code,
                       'customer ' || (i % 7919)::VARCHAR AS name,
                       ['US', 'DE', 'FR', 'GB', 'JP'][1 + i % 5] AS country,
                       round((i % 100000) / 100.0, 2) AS amount,
                       (i % 13)::INTEGER AS quantity,
                       round((i % 997) / 997.0, 6) AS ratio,
                       DATE '2026-01-01' + (i % 365)::INTEGER AS day,
                       i % 3 = 0 AS active,
                       'note ' || (i % 101)::VARCHAR AS note
                FROM range({int(rows)}) t(i)
            ) TO '{path}' (HEADER, DELIMITER ',')
            """
        )


def prepare_platform(source: Path, work: Path) -> Workload:
    from dataplatform.ingest.dropzone import DropZone
    from dataplatform.ingest.service import Ingestor
    from dataplatform.storage import open_store

    counter = iter(range(1_000_000))

    def run() -> Outcome:
        root = work / f"platform-{next(counter)}"
        zone = DropZone(root / "dropzone")
        folder = zone.incoming / "deliveries"
        folder.mkdir(parents=True)
        (folder / "_table.yaml").write_text("mode: full\nkeys: [id]\n")
        os.link(source, folder / source.name)
        entry = Ingestor(zone, open_store("delta", root / "lake")).ingest(folder / source.name, "deliveries")
        assert entry.status == "loaded", entry.error
        shutil.rmtree(root)
        return Outcome(entry.rows_loaded or 0)

    return run


def prepare_duckdb(source: Path, work: Path) -> Workload:
    import duckdb

    counter = iter(range(1_000_000))

    def run() -> Outcome:
        database = work / f"duckdb-{next(counter)}.duckdb"
        with duckdb.connect(str(database)) as con:
            con.execute("CREATE TABLE deliveries AS SELECT * FROM read_csv(?)", [str(source)])
            rows = con.execute("SELECT count(*) FROM deliveries").fetchone()[0]
        database.unlink()
        return Outcome(rows)

    return run


def prepare_legacy(source: Path, work: Path) -> Workload:
    import sqlite3

    import pandas as pd

    counter = iter(range(1_000_000))

    def run() -> Outcome:
        database = work / f"legacy-{next(counter)}.sqlite"
        frame = pd.read_csv(source, dtype={"code": str}, parse_dates=["day"])
        with sqlite3.connect(database) as con:
            frame.to_sql("deliveries", con, index=False, chunksize=LEGACY_BATCH)
        database.unlink()
        return Outcome(len(frame))

    return run


def _options(parser) -> None:
    parser.add_argument(
        "--legacy-rows", type=int, default=200_000, help="rows for pandas to_sql (default 200_000)"
    )
    parser.add_argument(
        "--work-dir", type=Path, default=None, help="keep inputs here (default: a temporary dir)"
    )


def main() -> None:
    args = parse_args(__doc__ or "", default_rows=2_000_000, add=_options)
    with work_folder(args.work_dir, "bench-ingest-") as work:
        big, small = work / "deliveries.csv", work / "deliveries_small.csv"
        write_csv(big, args.rows)
        write_csv(small, args.legacy_rows)
        size = big.stat().st_size
        print(
            f"a CSV of {args.rows:,} rows, 10 columns, {size / 2**20:,.0f} MiB; "
            f"legacy on {args.legacy_rows:,} rows; {args.repeat} runs"
        )
        platform = run_isolated(prepare_platform, big, work, repeat=args.repeat)
        duck = run_isolated(prepare_duckdb, big, work, repeat=args.repeat)
        legacy = run_isolated(prepare_legacy, small, work, repeat=args.repeat)

    figures = [
        Figure.of("platform: detect, typed read, Delta load, ledger, archive", platform, "subject"),
        Figure.of("DuckDB read_csv into a table", duck, "anchor"),
        Figure.of(f"pandas read_csv + to_sql into SQLite, {LEGACY_BATCH}-row batches", legacy, "anchor"),
    ]
    by_duckdb = figures[0].median / figures[1].median
    notes = [
        f"platform / DuckDB time: {by_duckdb:.2f}x; goal at most 1.5x: {'met' if by_duckdb <= 1.5 else 'NOT met'}",
        f"platform / legacy rows per second: {figures[0].rows_per_s / figures[2].rows_per_s:,.0f}x",
    ]
    report(
        "ingest",
        figures,
        {"rows": args.rows, "legacy_rows": args.legacy_rows, "repeat": args.repeat, "bytes": size},
        notes,
        platform_vs_duckdb=round(by_duckdb, 3),
        goal_1_5x_duckdb_met=by_duckdb <= 1.5,
    )


if __name__ == "__main__":
    main()
