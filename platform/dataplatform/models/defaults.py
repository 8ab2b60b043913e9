"""The dataset `dataplatform run` trains models on, so a fresh platform learns something real.

Customers' value from gold e-commerce (`gold/ecommerce/customer_value`): each customer's revenue
in USD, a regression on their country, orders and recency. It is registered again on every run
(the gold table changed with the days just materialised), as any registered dataset would be by
its asset, and then its default models train and the better one becomes champion.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dataplatform.settings import Settings

SOURCE = "gold/ecommerce/customer_value"
NAME = "customer_value"
TARGET = "revenue_usd"
IDS = ["customer_id"]
# what would give the target away: the revenue quintile is part of the RFM score, and a name is no feature
LEAKS = ["rfm_score", "first_name", "last_name", "country_name"]


def register_default(settings: Settings) -> str:
    """Register (again) the default dataset from its gold table; returns its name."""
    from dataplatform.datasets.client import DatasetClient
    from dataplatform.datasets.sources import asset_table
    from dataplatform.storage import store_for_layer

    _, table = asset_table(SOURCE)
    data = store_for_layer(settings, table.layer).read(table)
    data = data.drop_columns([c for c in LEAKS if c in data.column_names])
    client = DatasetClient.for_settings(settings)
    client.register_table(
        data,
        NAME,
        source_asset=SOURCE,
        target=TARGET,
        id_columns=IDS,
        description="Customers' revenue in USD from gold e-commerce: the default run's model.",
        tags=["default"],
        force=True,
    )
    return NAME
