"""Shared fixtures: small, fast settings over temporary folders."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from dataplatform.settings import EcommerceVolumes, Settings

DAY = date(2026, 3, 10)
NEXT_DAY = date(2026, 3, 11)
SMALL = EcommerceVolumes(customers=300, products=60, orders_per_day=400, items_per_order=2.5)


def small_settings(root: Path, **overrides) -> Settings:
    values = {
        "data_dir": root / "data",
        "dagster_home": root / "dagster",
        "start_date": date(2026, 1, 1),
        "seed": 7,
        "ecommerce": SMALL,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return small_settings(tmp_path)
