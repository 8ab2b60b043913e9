"""Shared plumbing of the benchmarks in bench/: command line, timing, peak memory, the report.

Not a benchmark itself: `make bench` runs every `bench/*.py`, so running this file does nothing.

How the figures are taken:

* Time: a contender's workload is called `--repeat` times; each call is timed with
  `time.perf_counter` and the table shows the median. Setup (imports, building inputs, and a
  warm-up call where first-call costs would otherwise land in the first repetition) happens
  before the first timed call and is never timed.
* Peak memory: Arrow and DuckDB allocate outside Python's heap, where tracemalloc cannot see, so
  each contender runs in its own freshly spawned interpreter (multiprocessing "spawn" context)
  that reads `resource.getrusage(RUSAGE_SELF).ru_maxrss`, the kernel's high-water mark of the
  process's resident memory, and sends it back. It is read twice: after setup ("base": the
  interpreter, the imported libraries, the inputs) and after the last repetition ("peak").
  Peak minus base is what the timed work added. Contenders never share a process, so one
  cannot inherit another's memory or warm caches.
* Context: the report names the commit measured (and whether platform/ had uncommitted
  changes) and the machine's load average, since other work on a small machine moves figures.
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

MIB = 1024 * 1024
Role = Literal["subject", "anchor", "info"]


@dataclass(frozen=True)
class Outcome:
    """What one call of a workload reports: rows produced, and named durations it measured itself."""

    rows: int
    parts: Mapping[str, float] = field(default_factory=dict)


Workload = Callable[[], Outcome]


@dataclass(frozen=True)
class Trial:
    """Every repetition of one contender, run in one fresh process."""

    seconds: tuple[float, ...]
    outcomes: tuple[Outcome, ...]
    base_rss: int
    peak_rss: int

    @property
    def rows(self) -> int:
        return self.outcomes[-1].rows

    def part(self, name: str) -> tuple[float, ...]:
        """One self-measured duration across the repetitions (0 where a run did not report it)."""
        return tuple(o.parts.get(name, 0.0) for o in self.outcomes)


def parse_args(
    description: str,
    default_rows: int,
    add: Callable[[argparse.ArgumentParser], None] | None = None,
    default_repeat: int = 3,
) -> argparse.Namespace:
    """`--rows` and `--repeat` for every benchmark, plus whatever `add` declares."""
    parser = argparse.ArgumentParser(description=description.strip().splitlines()[0])
    parser.add_argument("--rows", type=int, default=default_rows, help=f"rows (default {default_rows:_})")
    parser.add_argument(
        "--repeat",
        type=int,
        default=default_repeat,
        help=f"timed repetitions per contender (default {default_repeat})",
    )
    if add is not None:
        add(parser)
    args = parser.parse_args()
    if args.rows < 1 or args.repeat < 1:
        parser.error("--rows and --repeat must be at least 1")
    return args


@contextmanager
def work_folder(kept: Path | None, prefix: str) -> Iterator[Path]:
    """Where a benchmark writes: `kept` (`--work-dir`, left in place for a look afterwards), or
    a temporary folder removed at the end, also when a contender fails."""
    import shutil
    import tempfile

    folder = kept or Path(tempfile.mkdtemp(prefix=prefix))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        yield folder
    finally:
        if kept is None:
            shutil.rmtree(folder, ignore_errors=True)


def run_isolated(prepare: Callable[..., Workload], *args: object, repeat: int) -> Trial:
    """Run `prepare(*args)` (untimed) then its workload `repeat` times, in a fresh interpreter.

    `prepare` must be a module-level function so the spawned process can import it.
    """
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(_trial, prepare, args, repeat).result()


def in_turns(
    contenders: Sequence[tuple[Callable[..., Workload], tuple[object, ...]]], repeat: int
) -> list[Trial]:
    """Each contender's `prepare(*args)` once per round, each run in a fresh process, so a change
    in the load of the shared machine falls on every contender alike; one trial per contender."""
    runs: list[list[Trial]] = [[] for _ in contenders]
    for round_number in range(1, repeat + 1):
        for (prepare, args), trials in zip(contenders, runs, strict=True):
            load = os.getloadavg()[0]
            trials.append(run_isolated(prepare, *args, repeat=1))
            print(
                f"round {round_number}: {prepare.__name__.removeprefix('prepare_')} "
                f"{trials[-1].seconds[0]:.2f} s (load average before: {load:.2f})",
                flush=True,
            )
    return [
        Trial(
            seconds=tuple(s for t in trials for s in t.seconds),
            outcomes=tuple(o for t in trials for o in t.outcomes),
            base_rss=max(t.base_rss for t in trials),
            peak_rss=max(t.peak_rss for t in trials),
        )
        for trials in runs
    ]


def _trial(prepare: Callable[..., Workload], args: tuple[object, ...], repeat: int) -> Trial:
    workload = prepare(*args)
    gc.collect()
    base = _max_rss()
    seconds, outcomes = [], []
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        outcome = workload()
        seconds.append(time.perf_counter() - started)
        outcomes.append(outcome)
    return Trial(tuple(seconds), tuple(outcomes), base, _max_rss())


def _max_rss() -> int:
    """High-water mark of this process's own resident memory, in bytes.

    On Linux, `ru_maxrss` of a spawned child starts at its parent's peak, which would charge a
    contender with the main process's memory; `VmHWM` is the child's own.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib if sys.platform == "darwin" else kib * 1024


@dataclass(frozen=True)
class Figure:
    """One row of the report. `subject` is what is benchmarked, `anchor` what it is compared to.

    A report may hold several comparisons: an anchor is compared to the subject of its `group`
    (rows left in the default group "" when there is only one comparison).
    """

    what: str
    rows: int
    seconds: Sequence[float]
    base_rss: int | None = None
    peak_rss: int | None = None
    role: Role = "info"
    group: str = ""

    @classmethod
    def of(
        cls,
        what: str,
        trial: Trial,
        role: Role = "info",
        *,
        rows: int | None = None,
        seconds: Sequence[float] | None = None,
        group: str = "",
    ) -> Figure:
        """A row from a trial; `rows` or `seconds` replace the trial's (another view of the same runs)."""
        return cls(
            what,
            trial.rows if rows is None else rows,
            trial.seconds if seconds is None else seconds,
            trial.base_rss,
            trial.peak_rss,
            role,
            group,
        )

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.median if self.median > 0 else float("inf")


def report(
    bench: str,
    figures: Sequence[Figure],
    params: Mapping[str, object],
    notes: Sequence[str] = (),
    **extra: object,
) -> None:
    """Print the table, a legend, `notes`, and last one JSON line holding the same figures.

    The ratio column is rows/s of the subject divided by rows/s of each anchor: above 1 the
    subject is faster than that anchor, below 1 slower. With groups, each anchor is compared to
    the subject of its own group.
    """
    subjects: dict[str, Figure] = {}
    for f in figures:
        if f.role == "subject":
            subjects.setdefault(f.group, f)
    subject = next(iter(subjects.values()))
    ratios = [
        subjects[f.group].rows_per_s / f.rows_per_s if f.role == "anchor" and f.group in subjects else None
        for f in figures
    ]
    header = ("what", "rows", "median s", "rows/s", "base MiB", "peak MiB", "ratio")
    lines = [
        (
            f.what + ("  [anchor]" if f.role == "anchor" else "  [subject]" if f.role == "subject" else ""),
            f"{f.rows:,}",
            f"{f.median:.3f}",
            f"{f.rows_per_s:,.0f}",
            _mib(f.base_rss),
            _mib(f.peak_rss),
            "" if ratio is None else f"{ratio:,.2f}x",
        )
        for f, ratio in zip(figures, ratios, strict=True)
    ]
    widths = [max(len(row[i]) for row in (header, *lines)) for i in range(len(header))]
    print()
    for row in (header, *lines):
        cells = [row[0].ljust(widths[0])] + [
            cell.rjust(w) for cell, w in zip(row[1:], widths[1:], strict=True)
        ]
        print("  ".join(cells))
    compared = f"'{subject.what}'" if len(subjects) == 1 else "the subject of the anchor's group"
    print(
        f"ratio = rows/s of {compared} / rows/s of the anchor (above 1: faster than the anchor). "
        "Median of the repetitions; MiB = max RSS of the contender's own process after setup (base) "
        "and after the runs (peak)."
    )
    for note in notes:
        print(note)
    machine = {"cpus": os.cpu_count(), "load_average_1m": round(os.getloadavg()[0], 2)}
    revision = _revision()
    print(
        f"platform at {revision}; machine: {machine['cpus']} CPUs, load average over the last minute "
        f"{machine['load_average_1m']} (other work on the machine skews the figures)"
    )
    payload = {
        "bench": bench,
        "params": dict(params),
        "revision": revision,
        "machine": machine,
        "subject": subject.what,
        "figures": [
            {
                "what": f.what,
                "role": f.role,
                "rows": f.rows,
                "median_s": round(f.median, 4),
                "seconds": [round(s, 4) for s in f.seconds],
                "rows_per_s": round(f.rows_per_s, 1),
                "base_rss_mib": None if f.base_rss is None else round(f.base_rss / MIB, 1),
                "peak_rss_mib": None if f.peak_rss is None else round(f.peak_rss / MIB, 1),
                "ratio": None if ratio is None else round(ratio, 3),
                **({"group": f.group} if f.group else {}),
            }
            for f, ratio in zip(figures, ratios, strict=True)
        ],
        **extra,
    }
    print(json.dumps(payload, default=str))


def _revision() -> str:
    """The commit measured, marked dirty when the platform's sources differ from it."""
    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + (
        " (platform/ has uncommitted changes)" if git("status", "--porcelain", "platform") else ""
    )


def _mib(value: int | None) -> str:
    return "" if value is None else f"{value / MIB:,.0f}"
