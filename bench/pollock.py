"""Pollock: how much of 2,290 damaged CSV files the platform's reader gets back, against DuckDB.

The public Pollock benchmark (Vitagliano et al., VLDB 2023) damages one clean table in one way
per file: another delimiter, quote or escape, a preamble, several header rows, no header,
several tables, rows with fewer or more fields, stray quotes... Each file is loaded, what was
loaded is written as a standard CSV, and `_pollock.py` scores it against the clean table
(ten measures, at most 10 a file; simple and weighted score: see its docstring). The files are
read where they lie (`$DATAPLATFORM_POLLOCK_DIR`, else `../shared/pollock`), never copied.

Contenders, each on every file, in turns within one run:

* platform, quarantine: `read_file(path, policy="quarantine")`, what a partner's messy file
  gets when bad rows are set aside: the header row written only when the platform found one
  (its cells as delivered), then the good rows;
* platform, reject: the same with the default policy, where a bad row refuses the file;
* DuckDB: `read_csv(path)` with its own detection and nothing given, the fastest way anyone
  loads a CSV here; a file it cannot read fails (success 0);
* DuckDB with the paper's options: the same detection with the options the paper's "DuckDB
  auto" run gave (`strict_mode=false, ignore_errors=true, null_padding=true`: quotes not
  enforced, bad rows dropped, short rows padded), to compare like with like against the
  published DuckDB row: what remains between them is DuckDB's version (1.2 there) and the
  scorer (ours is written from the README, theirs is the paper's code).

The published scores of other loaders (from the paper, with its scorer; ours follows its
README) are printed as reference rows. A loader that detects the dialect itself compares with
the auto-detecting rows (DuckDB auto, CleverCSV); the others were given the dialect.

Beyond the score, what matters for a data platform is that a file loaded wrong is never loaded
wrong in silence: for the platform under quarantine, every file whose cells differ from the
clean table (cell F1 below 1) is counted as recorded (a refusal, a warning, quarantined rows)
or SILENT (nothing said), and the silent ones are listed by name for whoever fixes the reader.
Files the paper's measures cannot catch are counted apart as MISPLACED: every cell right but
some in another column (a row with a separator too many, read into the table's width, moves
its values right and drops its last, empty, one); rows are compared as tuples to find them.

Goal: simple score above 9.9, weighted above 9.6, zero files loaded wrong silently.

`--files N` (or `--rows N`) runs a deterministic subset spread over every damage family.
Seconds are each contender's load time (to an Arrow table; writing the CSV and scoring are not
counted) summed over the files, measured inside `--jobs` worker processes running side by
side, so all contenders share the same machine load.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import multiprocessing
import os
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from _harness import _revision, work_folder
from _pollock import (
    FILES_IN_PUBLISHED_RUN,
    PAPER_DUCKDB_OPTIONS,
    Load,
    Score,
    duckdb_connection,
    expected,
    family,
    file_names,
    load_duckdb,
    load_platform,
    load_weights,
    missing_reason,
    pollock_dir,
    read_rows,
    score_rows,
    simple_score,
    subset,
    weighted_score,
)

QUARANTINE, REJECT, DUCKDB, DUCKDB_PAPER = (
    "platform_quarantine",
    "platform_reject",
    "duckdb_auto",
    "duckdb_paper",
)
LABELS = {
    QUARANTINE: "platform, policy quarantine",
    REJECT: "platform, policy reject (default)",
    DUCKDB: "DuckDB read_csv, auto-detection",
    DUCKDB_PAPER: "DuckDB read_csv, auto + the paper's options",
}
PUBLISHED = (  # the paper's figures (simple, weighted), for reference
    ("DuckDB 1.2 auto-detection (published)", 9.075, 8.439),
    ("CleverCSV 0.7 (published)", 9.193, 9.453),
    ("DuckDB 1.2 with dialect given (published)", 9.961, 9.599),
    ("pandas 1.4 (published)", 9.895, 9.431),
    ("Python csv (published)", 9.721, 9.436),
)
GOAL_SIMPLE, GOAL_WEIGHTED, GOAL_SILENT = 9.9, 9.6, 0
SILENT_LISTED = 30
MISPLACED_LISTED = 10
WORST_PER_FAMILY = 3


@dataclass(frozen=True)
class FileOutcome:
    """One file through every contender: its scores and what each loader did."""

    name: str
    scores: dict[str, Score]
    loads: dict[str, Load]


def run_file(name: str, folder: Path, work: Path) -> FileOutcome:
    """Load `name` with each contender in turn, write each output under `work/<contender>/`, and
    score it against the clean file (normalised once for all contenders)."""
    source = folder / "polluted_files" / "csv" / name
    clean = expected(folder, name)
    loaders: dict[str, Callable[[Path], Load]] = {
        QUARANTINE: lambda out: load_platform(source, out, "quarantine"),
        REJECT: lambda out: load_platform(source, out, "reject"),
        DUCKDB: lambda out: load_duckdb(source, out),
        DUCKDB_PAPER: lambda out: load_duckdb(source, out, PAPER_DUCKDB_OPTIONS),
    }
    scores, loads = {}, {}
    for key, loader in loaders.items():
        done = loader(work / key / name)
        loads[key] = done
        scores[key] = score_rows(clean, read_rows(done.output) if done.output is not None else None)
    return FileOutcome(name, scores, loads)


def _run_all(names: Sequence[str], folder: Path, work: Path, jobs: int) -> list[FileOutcome]:
    """Every file through `run_file` in `jobs` fresh interpreters (spawned, so no worker inherits
    the main process's imports or DuckDB state), reporting progress as files complete."""
    context = multiprocessing.get_context("spawn")
    outcomes: list[FileOutcome] = []
    step = max(len(names) // 5, 1)
    with ProcessPoolExecutor(
        max_workers=jobs, mp_context=context, initializer=_warm_up, initargs=(folder,)
    ) as pool:
        results = pool.map(
            run_file,
            names,
            [folder] * len(names),
            [work] * len(names),
            chunksize=max(1, min(16, len(names) // (4 * jobs) or 1)),
        )
        for done in results:
            outcomes.append(done)
            if len(outcomes) % step == 0 or len(outcomes) == len(names):
                print(f"  {len(outcomes):,} / {len(names):,} files", flush=True)
    return outcomes


def _warm_up(folder: Path) -> None:
    """Load the untouched source file once with each loader before the first timed file, so no
    contender's first load pays the imports and the first query's setup."""
    source = folder / "polluted_files" / "csv" / "source.csv"
    from dataplatform.ingest.read import read_file

    read_file(source)
    duckdb_connection().read_csv(str(source)).to_arrow_table()


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").strip().splitlines()[0])
    parser.add_argument(
        "--files",
        "--rows",
        dest="files",
        type=int,
        default=None,
        help="a deterministic subset of this many files, spread over every damage family (default: all)",
    )
    parser.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1, help="worker processes (default: one per CPU)"
    )
    parser.add_argument(
        "--work-dir", type=Path, default=None, help="keep the loaded CSVs here (default: a temporary dir)"
    )
    args = parser.parse_args()
    if (args.files is not None and args.files < 1) or args.jobs < 1:
        parser.error("--files and --jobs must be at least 1")
    return args


def _table(rows: Sequence[Sequence[str]]) -> None:
    """Print `rows` (the first is the header) in aligned columns: the first left, figures right."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = [
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells).rstrip())


def _note(load: Load, score: Score) -> str:
    """What a loader said about a file, in a few words, for the lists."""
    if load.error is not None:
        return ("refused: " if load.refused else "CRASHED: ") + load.error[:90]
    said = []
    if load.bad_rows:
        said.append(f"{load.bad_rows} bad rows")
    if load.warnings:
        said.append(f"{len(load.warnings)} warnings: {load.warnings[0][:60]}")
    if said:
        return ", ".join(said)
    if score.success and score.in_place:
        return "exact"
    return "nothing recorded" + ("" if score.success else ", nothing loaded")


def main() -> None:
    args = _options()
    folder = pollock_dir()
    reason = missing_reason(folder)
    if reason is not None:
        print(f"skipped: {reason}")
        sys.exit(1 if os.environ.get("CI", "").lower() == "true" else 0)
    every = file_names(folder)
    names = subset(every, args.files or len(every))
    weights = load_weights(folder)
    spec = importlib.util.find_spec("dataplatform")
    platform_source = str(Path(spec.origin).parent) if spec and spec.origin else "nowhere (not importable)"
    print(
        f"Pollock: {len(names):,} of {len(every):,} files from {folder} "
        f"(the paper scored {FILES_IN_PUBLISHED_RUN:,}); {args.jobs} worker processes",
        flush=True,
    )
    started = time.perf_counter()
    with work_folder(args.work_dir, "bench-pollock-") as work:
        outcomes = _run_all(names, folder, work, args.jobs)
    wall = time.perf_counter() - started

    results = {}
    for key in LABELS:
        scores = [o.scores[key] for o in outcomes]
        results[key] = {
            "simple": round(simple_score(scores), 4),
            "weighted": round(weighted_score(scores, weights), 4),
            "failed": sum(not s.success for s in scores),
            "seconds": round(sum(o.loads[key].seconds for o in outcomes), 2),
        }

    print()
    rows = [("contender", "simple", "weighted", "files failed", "seconds")]
    rows += [
        (LABELS[k], f"{r['simple']:.3f}", f"{r['weighted']:.3f}", f"{r['failed']:,}", f"{r['seconds']:.1f}")
        for k, r in results.items()
    ]
    rows += [(what, f"{simple:.3f}", f"{weighted:.3f}", "", "") for what, simple, weighted in PUBLISHED]
    _table(rows)
    print(
        "simple: mean over files of the ten measures' sum; weighted: the same weighted by how common "
        "each damage is in open data (both at most 10). files failed: no output (success 0). "
        "seconds: each contender's loads summed over files (writing and scoring not counted). "
        "Published rows: the paper's figures on its own scorer, for reference."
    )
    print(
        f"goal for the platform: simple > {GOAL_SIMPLE}, weighted > {GOAL_WEIGHTED}, "
        f"{GOAL_SILENT} files loaded wrong silently (verdict at the end)"
    )

    fate = _fates(outcomes)
    silent, misplaced, recorded, crashed = fate.silent, fate.misplaced, fate.recorded, fate.crashed
    print(
        f"\n{LABELS[QUARANTINE]}: {fate.exact:,} files loaded exactly (every row in place); "
        f"{len(recorded):,} wrong or refused with it recorded (a refusal, a warning or bad rows); "
        f"{len(silent):,} loaded wrong SILENTLY (cell F1 below 1, nothing recorded); "
        f"{len(misplaced):,} more MISPLACED silently (cell F1 1, so invisible to the paper's "
        "measures, but values in another column than in the clean table, nothing recorded)"
    )
    if crashed:
        print(f"  {len(crashed)} of the refusals are crashes, not a stated refusal (not a ValueError):")
        for o in crashed[:10]:
            print(f"    {o.name}: {o.loads[QUARANTINE].error}")
    if silent:
        print("  silently wrong by family: " + _by_family(silent))
        shown = _spread_worst(silent, SILENT_LISTED)
        print(
            f"  silently wrong ({len(shown)} of {len(silent)}; each family's worst first, families in turn):"
        )
        for o in shown:
            score, load = o.scores[QUARANTINE], o.loads[QUARANTINE]
            print(
                f"    {o.name}: score {score.total:.2f}, cell F1 {score['cell_f1']:.3f}; "
                f"{load.rows} rows loaded, {'a' if load.header else 'no'} header row"
            )
    if misplaced:
        print("  silently misplaced by family: " + _by_family(misplaced))
        shown = _spread_worst(misplaced, MISPLACED_LISTED)
        print(f"  silently misplaced ({len(shown)} of {len(misplaced)}): " + ", ".join(o.name for o in shown))

    print(f"\nby damage family (mean score per file; worst: the lowest under {LABELS[QUARANTINE]}):")
    families: dict[str, list[FileOutcome]] = defaultdict(list)
    for o in outcomes:
        families[family(o.name)].append(o)
    rows = [("family", "files", "quarantine", "reject", "DuckDB", "DuckDB paper", "worst")]
    worst: list[tuple[str, list[FileOutcome]]] = []
    for name, members in sorted(families.items()):
        ranked = sorted(members, key=lambda o: (o.scores[QUARANTINE].total, o.name))
        rows.append(
            (
                name,
                str(len(members)),
                *(f"{statistics.fmean(o.scores[k].total for o in members):.2f}" for k in LABELS),
                f"{ranked[0].scores[QUARANTINE].total:.2f}",
            )
        )
        below = [o for o in ranked[:WORST_PER_FAMILY] if o.scores[QUARANTINE].total < 10]
        if below:
            worst.append((name, below))
    _table(rows)
    print(f"worst files per family ({LABELS[QUARANTINE]}: score, what the platform said):")
    for name, below in worst:
        for o in below:
            score = o.scores[QUARANTINE]
            print(f"  {name}: {o.name} {score.total:.2f} ({_note(o.loads[QUARANTINE], score)})")

    mine = results[QUARANTINE]
    met = {
        "simple": mine["simple"] > GOAL_SIMPLE,
        "weighted": mine["weighted"] > GOAL_WEIGHTED,
        "silent": len(silent) <= GOAL_SILENT,
    }
    print(
        f"\ngoal ({LABELS[QUARANTINE]}): simple > {GOAL_SIMPLE} (now {mine['simple']:.3f}: "
        f"{'met' if met['simple'] else 'NOT met'}), weighted > {GOAL_WEIGHTED} (now {mine['weighted']:.3f}: "
        f"{'met' if met['weighted'] else 'NOT met'}), silent = {GOAL_SILENT} (now {len(silent)}: "
        f"{'met' if met['silent'] else 'NOT met'})"
    )
    machine = {"cpus": os.cpu_count(), "load_average_1m": round(os.getloadavg()[0], 2)}
    revision = _revision()
    print(
        f"platform at {revision}, imported from {platform_source}; {wall:.0f} s wall time; machine: {machine['cpus']} CPUs, load average "
        f"over the last minute {machine['load_average_1m']}"
    )
    payload = {
        "bench": "pollock",
        "params": {"files": len(names), "of": len(every), "jobs": args.jobs},
        "revision": revision,
        "platform_source": platform_source,
        "machine": machine,
        "wall_seconds": round(wall, 1),
        "scores": results,
        "published": {what: {"simple": s, "weighted": w} for what, s, w in PUBLISHED},
        "silent_wrong": len(silent),
        "silent_misplaced": len(misplaced),
        "recorded_wrong": len(recorded),
        "goal": {"simple": GOAL_SIMPLE, "weighted": GOAL_WEIGHTED, "silent": GOAL_SILENT},
        "goal_met": all(met.values()),
    }
    print(json.dumps(payload))


@dataclass(frozen=True)
class Fates:
    """The platform's files under quarantine by what became of them."""

    exact: int  # every row in place
    recorded: list[FileOutcome]  # wrong or refused, and the platform said so
    silent: list[FileOutcome]  # cell F1 below 1 (or nothing loaded), nothing recorded: the goal's count
    misplaced: list[FileOutcome]  # cell F1 1 but values in other columns, nothing recorded
    crashed: list[FileOutcome]  # among `recorded`: an exception that is not a stated refusal


def _fates(outcomes: Sequence[FileOutcome]) -> Fates:
    """Sort the platform's outcomes under quarantine into `Fates`."""
    exact, recorded, silent, misplaced = 0, [], [], []
    for o in outcomes:
        score, load = o.scores[QUARANTINE], o.loads[QUARANTINE]
        if score.success and score.in_place:
            exact += 1
        elif load.recorded:
            recorded.append(o)
        elif score.success and score["cell_f1"] >= 1:
            misplaced.append(o)
        else:
            silent.append(o)
    crashed = [
        o for o in recorded if o.loads[QUARANTINE].error is not None and not o.loads[QUARANTINE].refused
    ]
    return Fates(exact, recorded, silent, misplaced, crashed)


def _by_family(outcomes: Sequence[FileOutcome]) -> str:
    counts: dict[str, int] = defaultdict(int)
    for o in outcomes:
        counts[family(o.name)] += 1
    return ", ".join(f"{name} {count}" for name, count in sorted(counts.items()))


def _spread_worst(outcomes: Sequence[FileOutcome], limit: int) -> list[FileOutcome]:
    """Up to `limit` of `outcomes`, families taking turns, each giving its worst first, so the
    list shows every kind of failure rather than the many files of one."""
    queues: dict[str, list[FileOutcome]] = defaultdict(list)
    for o in sorted(outcomes, key=lambda o: (o.scores[QUARANTINE].total, o.name)):
        queues[family(o.name)].append(o)
    shown: list[FileOutcome] = []
    while len(shown) < min(limit, len(outcomes)):
        for queue in queues.values():
            if queue and len(shown) < limit:
                shown.append(queue.pop(0))
    return shown


if __name__ == "__main__":
    main()
