"""Population stability index: how far the rows a model scores have moved from what it learned on.

Per feature, train's values are cut into deciles and each decile's share of train is compared
with its share of the scored rows: PSI = sum((scored - train) * ln(scored / train)). Below 0.1
the populations match, 0.1 to 0.2 they moved a little, above 0.2 a model's scores deserve a
look. Missing values are a bin of their own, so a feature that goes missing shows as drift.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

WATCH, ALARM = 0.1, 0.2
FLOOR = 1e-4  # a bin's share is never 0, or one empty bin makes the index infinite


def population_stability(train: pd.DataFrame, scored: pd.DataFrame, bins: int = 10) -> dict[str, float]:
    """PSI per feature column both frames hold."""
    import numpy as np

    found = {}
    for column in (c for c in train.columns if c in scored.columns):
        expected = train[column].to_numpy(dtype="float64")
        actual = scored[column].to_numpy(dtype="float64")
        known = expected[~np.isnan(expected)]
        edges = (
            np.unique(np.quantile(known, np.linspace(0, 1, bins + 1)[1:-1])) if len(known) else np.array([])
        )
        found[column] = float(_psi(_shares(expected, edges), _shares(actual, edges)))
    return found


def _shares(values, edges):
    import numpy as np

    missing = np.isnan(values)
    counts = np.bincount(np.searchsorted(edges, values[~missing], side="right"), minlength=len(edges) + 1)
    shares = np.append(counts, missing.sum()) / max(len(values), 1)
    return np.maximum(shares, FLOOR)


def _psi(expected, actual) -> float:
    import numpy as np

    return float(np.sum((actual - expected) * np.log(actual / expected)))
