"""Vectorised sampling shared by the generators: weighted categories, skewed ranks, labels.

Each helper draws a whole column at once from a numpy generator; none loops per row.
"""

from __future__ import annotations

from datetime import date
from functools import cache

import numpy as np
import pyarrow as pa

_EPOCH = date(1970, 1, 1)


def power_law_ranks(rng: np.random.Generator, size: int, count: int, exponent: float) -> np.ndarray:
    """`count` ranks in [0, size) with P(rank r) roughly proportional to (r + 1) ** -exponent.

    Inverting the continuous power law's CDF costs one power per draw, where weighted
    `choice` over a large population costs a binary search per draw.
    """
    a = 1.0 - exponent
    x = (1.0 + rng.random(count, dtype=np.float32) * np.float32((size + 1.0) ** a - 1.0)) ** np.float32(
        1.0 / a
    )
    return np.minimum(x.astype(np.int64) - 1, size - 1)


def labels(values: np.ndarray, index: np.ndarray) -> pa.Array:
    """Labels by position: Arrow's take is several times faster than numpy string arrays."""
    return pa.array(values, pa.string()).take(pa.array(index))


DRAW_RESOLUTION = 1 << 16


def draw(rng: np.random.Generator, weights: np.ndarray, count: int) -> np.ndarray:
    """Category indexes drawn with `weights`, by lookup in a table of 65,536 entries.

    Within 0.002% of any weight, and indexed by the generator's raw 64-bit output cut into four
    16-bit draws: several times faster than `integers`, let alone weighted `choice`, which
    searches a cumulative sum per draw.
    """
    table = draw_table(tuple(np.asarray(weights, dtype=float).tolist()))
    raw = rng.bit_generator.random_raw((count + 3) // 4)
    return table[raw.view(np.uint16)[:count]]


@cache
def draw_table(weights: tuple[float, ...]) -> np.ndarray:
    share = np.array(weights) / sum(weights) * DRAW_RESOLUTION
    counts = np.floor(share + 1e-9).astype(int)
    # largest remainders take the entries that rounding down left over
    counts[np.argsort(counts - share)[: DRAW_RESOLUTION - counts.sum()]] += 1
    return np.repeat(np.arange(len(weights), dtype=np.int16), counts)


def small_poisson(rng: np.random.Generator, mean: float, count: int) -> np.ndarray:
    """Poisson counts for a small mean (items per order, quotes per bar) through `draw`.

    The tail beyond the table's resolution is cut: with a mean of 1.5 that is counts above 9,
    one draw in millions. Five times faster than `rng.poisson` for the means used here.
    """
    return draw(rng, _poisson_weights(float(mean)), count)


@cache
def _poisson_weights(mean: float) -> np.ndarray:
    if mean <= 0:
        return np.ones(1)
    k = np.arange(max(16, int(mean + 12 * mean**0.5 + 12)))
    pmf = np.exp(k * np.log(mean) - mean - np.cumsum(np.log(np.maximum(k, 1))))
    return pmf[: np.flatnonzero(pmf * DRAW_RESOLUTION >= 0.5).max() + 1]


def constant_date(day: date, n: int) -> pa.Array:
    """A date column of one value: numpy fills the days since epoch ten times faster than
    `pa.repeat` builds it."""
    return pa.array(np.full(n, (day - _EPOCH).days, dtype=np.int32), pa.date32())
