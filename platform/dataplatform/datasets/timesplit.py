"""Time-ordered splits of a dataset with a time column: one train/test cut, or expanding or sliding folds.

Rows are ordered by time, and a cut never falls between rows of the same timestamp, so no row
is tested on a moment its train set has already seen. `gap` rows are left out between each
train set and its test set, for targets that look a little into the future (a 7-day return
needs a 7-row gap on daily data).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from dataplatform.datasets.errors import DatasetError

Mode = Literal["expanding", "sliding"]


@dataclass(frozen=True)
class Fold:
    """Row positions (in the table's stored order) of one train set and its test set."""

    number: int
    train_index: np.ndarray
    test_index: np.ndarray
    times: np.ndarray  # every row's time, for the summary

    def summary(self) -> dict[str, Any]:
        """Rows and time ranges, for the CLI and JSON output."""

        def span(index: np.ndarray) -> list[str | None]:
            if len(index) == 0:
                return [None, None]
            chosen = self.times[index]
            return [str(chosen.min()), str(chosen.max())]

        return {
            "fold": self.number,
            "train_rows": len(self.train_index),
            "test_rows": len(self.test_index),
            "train_time": span(self.train_index),
            "test_time": span(self.test_index),
        }


def time_folds(
    times: np.ndarray,
    folds: int = 1,
    test_fraction: float = 0.2,
    gap: int = 0,
    mode: Mode = "expanding",
    window: int | None = None,
) -> list[Fold]:
    """`folds` == 1: the last `test_fraction` of the rows in time is test. More folds: like a
    walk-forward validation, equal test blocks at the end, each trained on what came before it
    (all of it when expanding, the `window` latest rows when sliding)."""
    if folds < 1 or gap < 0 or not 0 < test_fraction < 1:
        raise DatasetError("folds must be at least 1, gap at least 0, test_fraction between 0 and 1")
    if mode not in ("expanding", "sliding"):
        raise DatasetError(f"split mode {mode!r} is not expanding or sliding")
    if mode == "sliding" and (window is None or window < 1):
        raise DatasetError("a sliding split needs a window: the number of train rows per fold")
    known = np.flatnonzero(~_missing(times))  # a row without a time belongs to no fold
    order = known[np.argsort(times[known], kind="stable")]
    ordered = times[order]
    n = len(order)
    test_size = max(1, round(n * test_fraction)) if folds == 1 else n // (folds + 1)
    if test_size < 1 or n - folds * test_size - gap < 1:
        raise DatasetError(f"{n} rows are too few for {folds} fold(s) with a gap of {gap}")
    result = []
    for number in range(folds):
        start = _after_ties(ordered, n - (folds - number) * test_size)
        end = n if number == folds - 1 else _after_ties(ordered, start + test_size)
        train_end = max(0, start - gap)
        train_start = 0 if mode == "expanding" else max(0, train_end - (window or 0))
        result.append(Fold(number + 1, order[train_start:train_end], order[start:end], times))
    return result


def _after_ties(ordered: np.ndarray, position: int) -> int:
    """Move a cut forward past rows sharing the time just before it."""
    if position <= 0 or position >= len(ordered):
        return position
    return int(np.searchsorted(ordered, ordered[position - 1], side="right"))


def _missing(times: np.ndarray) -> np.ndarray:
    if np.issubdtype(times.dtype, np.datetime64):
        return np.isnat(times)
    if np.issubdtype(times.dtype, np.floating):
        return np.isnan(times)
    return np.zeros(len(times), dtype=bool)
