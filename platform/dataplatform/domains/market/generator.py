"""Seeded market data: a symbol master, intraday OHLCV bars and top-of-book quotes.

Prices follow a random walk: each symbol's opening price on a day comes from a daily walk
that starts in 2000 and is rebuilt from its own stream, so any day can be generated alone.
Within the day, a finer tick path with a volatility regime and occasional jumps gives the
bars (open, close, and the extremes of the ticks between: `low <= min(open, close) <=
max(open, close) <= high` by construction) and the quotes (each centred on a tick of the same
path, so the mid lies inside its bar's range and `bid < ask`).
"""

from __future__ import annotations

from datetime import date
from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dataplatform.settings import MarketVolumes
from dataplatform.synthetic.batch import GeneratedBatch
from dataplatform.synthetic.defects import DefectInjector, DefectLog
from dataplatform.synthetic.sampling import draw, labels
from dataplatform.synthetic.seeding import SeededGenerator

DOMAIN = "market"
TICK = 0.01
TICKS_PER_BAR = 4
TRADING_DAYS_PER_YEAR = 252
# (exchange, currency, session open and close in minutes after midnight UTC, share of symbols)
EXCHANGES = [
    ("NASDAQ", "USD", 14 * 60 + 30, 21 * 60, 0.35),
    ("NYSE", "USD", 14 * 60 + 30, 21 * 60, 0.30),
    ("LSE", "GBP", 8 * 60, 16 * 60 + 30, 0.12),
    ("XETRA", "EUR", 8 * 60, 16 * 60 + 30, 0.12),
    ("TSE", "JPY", 0, 6 * 60, 0.11),
]
SECTORS = np.array("technology financials healthcare energy industrials consumer utilities materials".split())
SECTOR_WEIGHTS = np.array([0.22, 0.16, 0.14, 0.08, 0.12, 0.14, 0.06, 0.08])
NAME_WORDS = np.array(
    "acme apex atlas blue bright cedar delta ever first global harbor iron lake lumen "
    "north nova oak peak pioneer prime quant river silver summit terra union vertex west".split()
)
SUFFIXES = np.array(["Inc", "Corp", "Group", "Holdings", "PLC", "AG"])
# Volatility regime of a symbol on a day: calm, normal or stressed.
REGIME_SCALE = np.array([0.6, 1.0, 2.2])
REGIME_WEIGHTS = np.array([0.30, 0.55, 0.15])
JUMPS_PER_DAY = 0.3
WALK_START_YEAR = 2000
DAYS_PER_WALK_YEAR = 366
# Day-to-day moves of the opening price, as a share of the intraday volatility: keeps prices
# over decades within a plausible range (a few dollars to a few thousand).
OVERNIGHT_SHARE = 0.5


class MarketGenerator(SeededGenerator):
    """Symbols, one-minute (or coarser) bars and quotes for one seed and set of volumes."""

    domain = DOMAIN
    volumes: MarketVolumes

    def master(self) -> GeneratedBatch:
        log = DefectLog(partition_date=None)
        return GeneratedBatch({"symbols": self.symbols()}, log.to_table())

    def day(self, day: date) -> GeneratedBatch:
        log = DefectLog(partition_date=day)
        bars, quotes = self.clean_day(day)
        bars = self._inject_bar_defects(bars, day, log)
        quotes = self._inject_quote_defects(quotes, day, log)
        return GeneratedBatch({"ohlcv": bars, "quotes": quotes}, log.to_table())

    # -- clean data ---------------------------------------------------------------------------

    def symbols(self) -> pa.Table:
        n = self.volumes.symbols
        rng = self._rng("symbols", "attributes")
        codes = rng.choice(26**4, n, replace=False)
        letters = np.stack([(codes // 26**i) % 26 for i in (3, 2, 1, 0)], axis=1) + ord("A")
        tickers = letters.astype(np.uint8).view("S4").ravel().astype(str)
        exchange = self._exchange_idx
        name = pc.binary_join_element_wise(
            pc.utf8_capitalize(labels(NAME_WORDS, rng.integers(0, len(NAME_WORDS), n))),
            pc.utf8_capitalize(labels(NAME_WORDS, rng.integers(0, len(NAME_WORDS), n))),
            labels(SUFFIXES, rng.integers(0, len(SUFFIXES), n)),
            " ",
        )
        return pa.table(
            {
                "symbol": pa.array(tickers, pa.string()),
                "name": name,
                "exchange": labels(np.array([e[0] for e in EXCHANGES]), exchange),
                "sector": labels(SECTORS, draw(rng, SECTOR_WEIGHTS, n)),
                "currency": labels(np.array([e[1] for e in EXCHANGES]), exchange),
                "listing_date": pa.array(self._listing_dates, pa.date32()),
            }
        )

    def clean_day(self, day: date) -> tuple[pa.Table, pa.Table]:
        """Bars and quotes of every listed symbol on `day`; weekends have none."""
        if day.weekday() >= 5:
            return _empty_bars(), _empty_quotes()
        listed = np.flatnonzero(self._listing_dates <= np.datetime64(day))
        rng = self._rng("bars", day.isoformat())
        bar_parts, quote_parts = [], []
        for e, (_, _, session_open, session_close, _) in enumerate(EXCHANGES):
            members = listed[self._exchange_idx[listed] == e]
            if len(members):
                bars, quotes = self._session(rng, day, members, session_open, session_close)
                bar_parts.append(bars)
                quote_parts.append(quotes)
        if not bar_parts:
            return _empty_bars(), _empty_quotes()
        return pa.concat_tables(bar_parts), pa.concat_tables(quote_parts)

    def _session(self, rng, day: date, members: np.ndarray, session_open: int, session_close: int):
        minutes = self.volumes.bar_minutes
        n_bars = (session_close - session_open) // minutes
        n, steps = len(members), n_bars * TICKS_PER_BAR
        regime = REGIME_SCALE[draw(rng, REGIME_WEIGHTS, n)]
        step_sd = self._daily_volatility[members] * regime / np.sqrt(steps)
        increments = rng.standard_normal((n, steps)) * step_sd[:, None]
        jumps = rng.poisson(JUMPS_PER_DAY, n)
        rows = np.repeat(np.arange(n), jumps)
        increments[rows, rng.integers(0, steps, len(rows))] += (
            rng.standard_normal(len(rows)) * step_sd[rows] * 25
        )
        opening = self._opening_prices(day)[members]
        path = opening[:, None] * np.exp(
            np.concatenate([np.zeros((n, 1)), np.cumsum(increments, axis=1)], axis=1)
        )
        path = np.maximum(np.round(path / TICK) * TICK, TICK)

        # bar b spans ticks b*T .. (b+1)*T inclusive: shared boundaries make close(b) = open(b+1)
        idx = np.arange(n_bars)[:, None] * TICKS_PER_BAR + np.arange(TICKS_PER_BAR + 1)
        window = path[:, idx]  # (symbols, bars, T + 1)
        start = np.datetime64(day, "s") + np.timedelta64(session_open * 60, "s")
        bar_ts = start + (np.arange(n_bars) * minutes * 60).astype("timedelta64[s]")
        profile = 1.0 + 1.5 * ((np.arange(n_bars) - n_bars / 2) / (n_bars / 2)) ** 2  # busy open and close
        volume = self._volume_scale[members][:, None] * profile[None, :] * rng.lognormal(0, 0.5, (n, n_bars))
        symbol = np.repeat(members, n_bars)
        bars = pa.table(
            {
                "symbol": self._tickers.take(pa.array(symbol)),
                "ts": pa.array(np.tile(bar_ts, n), pa.timestamp("s", tz="UTC")),
                "open": np.round(window[:, :, 0], 2).ravel(),
                "high": np.round(window.max(axis=2), 2).ravel(),
                "low": np.round(window.min(axis=2), 2).ravel(),
                "close": np.round(window[:, :, -1], 2).ravel(),
                "volume": np.round(volume).astype(np.int64).ravel(),
                "partition_date": pa.array(np.full(n * n_bars, np.datetime64(day, "D")), pa.date32()),
            }
        )

        per_bar = rng.poisson(self.volumes.quotes_per_bar, n * n_bars)
        bar_of_quote = np.repeat(np.arange(n * n_bars), per_bar)
        tick = rng.integers(0, TICKS_PER_BAR + 1, len(bar_of_quote))
        mid = np.round(window.reshape(n * n_bars, -1)[bar_of_quote, tick], 2)
        half = np.maximum(1, np.round(mid * self._half_spread_bps[symbol[bar_of_quote]] / 1e4 / TICK))
        half = np.minimum(half, np.maximum(1, np.round(mid / TICK) - 1))  # keep the bid above zero
        # the j-th of a bar's k quotes falls in the j-th k-th of the bar: (symbol, ts) is a key
        first = np.repeat(np.cumsum(per_bar) - per_bar, per_bar)
        slot = np.arange(len(bar_of_quote)) - first
        slice_us = minutes * 60_000_000 / np.maximum(per_bar, 1)[bar_of_quote]
        offset = (
            ((slot + rng.random(len(bar_of_quote))) * slice_us).astype(np.int64).astype("timedelta64[us]")
        )
        quote_ts = np.tile(bar_ts, n)[bar_of_quote].astype("datetime64[us]") + offset
        order = np.lexsort((quote_ts, symbol[bar_of_quote]))
        quotes = pa.table(
            {
                "symbol": self._tickers.take(pa.array(symbol[bar_of_quote][order])),
                "ts": pa.array(quote_ts[order], pa.timestamp("us", tz="UTC")),
                "bid": np.round(mid - half * TICK, 2)[order],
                "ask": np.round(mid + half * TICK, 2)[order],
                "bid_size": (100 * rng.geometric(0.3, len(order))).astype(np.int64),
                "ask_size": (100 * rng.geometric(0.3, len(order))).astype(np.int64),
                "exchange": self._exchanges.take(pa.array(symbol[bar_of_quote][order])),
                "partition_date": pa.array(np.full(len(order), np.datetime64(day, "D")), pa.date32()),
            }
        )
        return bars, quotes

    # -- defects ------------------------------------------------------------------------------

    def _inject_bar_defects(self, bars: pa.Table, day: date, log: DefectLog) -> pa.Table:
        inject = DefectInjector(
            bars,
            name="ohlcv",
            key=("symbol", "ts"),
            rate=self.defect_rate,
            rng=self._rng("ohlcv", day.isoformat(), "defects"),
            log=log,
        )
        inject.swap("high", "low", 0.3, "ohlc_violation")
        inject.set_null("close", 0.2)
        inject.replace_values("volume", 0.2, "negative_volume", lambda old, rng: -np.maximum(old, 1))
        inject.duplicate(0.3)
        return inject.table

    def _inject_quote_defects(self, quotes: pa.Table, day: date, log: DefectLog) -> pa.Table:
        inject = DefectInjector(
            quotes,
            name="quotes",
            key=("symbol", "ts"),
            rate=self.defect_rate,
            rng=self._rng("quotes", day.isoformat(), "defects"),
            log=log,
        )
        inject.swap("bid", "ask", 0.4, "crossed_quote")
        inject.set_null("bid_size", 0.2)
        inject.duplicate(0.4)
        return inject.table

    # -- per-symbol streams -------------------------------------------------------------------

    @cached_property
    def _tickers(self) -> pa.Array:
        return self.symbols().column("symbol").combine_chunks()

    @cached_property
    def _exchanges(self) -> pa.Array:
        return self.symbols().column("exchange").combine_chunks()

    @cached_property
    def _exchange_idx(self) -> np.ndarray:
        weights = np.array([e[4] for e in EXCHANGES])
        return draw(self._rng("symbols", "exchange"), weights, self.volumes.symbols)

    @cached_property
    def _listing_dates(self) -> np.ndarray:
        days = self._rng("symbols", "listing").integers(0, 35 * 365, self.volumes.symbols)
        return np.datetime64("1990-01-01") + days.astype("timedelta64[D]")

    @cached_property
    def _daily_volatility(self) -> np.ndarray:
        annual = self._rng("symbols", "volatility").uniform(0.15, 0.6, self.volumes.symbols)
        return annual / np.sqrt(TRADING_DAYS_PER_YEAR)

    @cached_property
    def _volume_scale(self) -> np.ndarray:
        per_day = self._rng("symbols", "volume").lognormal(np.log(2e6), 1.0, self.volumes.symbols)
        return per_day / (390 / self.volumes.bar_minutes)

    @cached_property
    def _half_spread_bps(self) -> np.ndarray:
        return self._rng("symbols", "spread").lognormal(np.log(2.0), 0.6, self.volumes.symbols)

    def _opening_prices(self, day: date) -> np.ndarray:
        """Each symbol's price when `day` opens: a daily random walk from 2000-01-01.

        Summing every day since 2000 would cost a draw per day per symbol. Instead the walk's
        value at each 1 January comes from yearly steps, and the days in between from a
        Brownian bridge between those two values built from the year's own daily draws: the
        same walk, continuous across years, from about 400 draws per symbol.
        """
        n = self.volumes.symbols
        base = self._rng("symbols", "price").lognormal(np.log(60.0), 0.9, n)
        years = max(day.year - WALK_START_YEAR, 0)
        yearly = self._rng("walk", "years").standard_normal((years + 1, n)) * np.sqrt(DAYS_PER_WALK_YEAR)
        start, end = yearly[:years].sum(axis=0), yearly[: years + 1].sum(axis=0)
        daily = np.cumsum(self._rng("walk", str(day.year)).standard_normal((DAYS_PER_WALK_YEAR, n)), axis=0)
        i = day.timetuple().tm_yday - 1
        share = i / DAYS_PER_WALK_YEAR
        bridge = (daily[i - 1] if i else 0.0) - share * daily[-1]
        steps = start + share * (end - start) + bridge
        return base * np.exp(steps * self._daily_volatility * OVERNIGHT_SHARE)


def _empty_bars() -> pa.Table:
    return pa.schema(
        [
            ("symbol", pa.string()),
            ("ts", pa.timestamp("s", tz="UTC")),
            ("open", pa.float64()),
            ("high", pa.float64()),
            ("low", pa.float64()),
            ("close", pa.float64()),
            ("volume", pa.int64()),
            ("partition_date", pa.date32()),
        ]
    ).empty_table()


def _empty_quotes() -> pa.Table:
    return pa.schema(
        [
            ("symbol", pa.string()),
            ("ts", pa.timestamp("us", tz="UTC")),
            ("bid", pa.float64()),
            ("ask", pa.float64()),
            ("bid_size", pa.int64()),
            ("ask_size", pa.int64()),
            ("exchange", pa.string()),
            ("partition_date", pa.date32()),
        ]
    ).empty_table()
