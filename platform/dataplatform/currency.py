"""Currencies the platform prices in, with fixed USD rates.

The e-commerce generator prices orders in the customer's currency and gold converts back to
USD with the same table, so both sides agree. Reference data (delivered rates) replaces these
figures once a rates table is loaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

USD_PER_UNIT: dict[str, float] = {
    "USD": 1.0,
    "EUR": 1.08,
    "GBP": 1.27,
    "CAD": 0.73,
    "AUD": 0.66,
    "JPY": 0.0067,
    "BRL": 0.20,
    "INR": 0.012,
}

COUNTRY_CURRENCY: dict[str, str] = {
    "US": "USD",
    "DE": "EUR",
    "FR": "EUR",
    "ES": "EUR",
    "IT": "EUR",
    "NL": "EUR",
    "GB": "GBP",
    "CA": "CAD",
    "AU": "AUD",
    "JP": "JPY",
    "BR": "BRL",
    "IN": "INR",
}

# The largest valid unit price in any of these currencies (a high-end item priced in JPY or
# INR stays far below it). A price above it, zero or negative is a feed error: the generator
# injects such prices and silver rejects them, both against this one figure.
MAX_PRICE = 1_000_000


def usd_rates() -> pa.Table:
    """`currency`, `usd_per_unit` as DECIMAL: money times a float rate, summed in parallel,
    could differ by a cent from one run to the next depending on row order; decimal sums are
    exact."""
    from decimal import Decimal

    import pyarrow as pa

    rates = [Decimal(str(rate)) for rate in USD_PER_UNIT.values()]
    return pa.table({"currency": list(USD_PER_UNIT), "usd_per_unit": pa.array(rates, pa.decimal128(12, 6))})
