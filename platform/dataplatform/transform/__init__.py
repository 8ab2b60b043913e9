"""Pure bronze -> silver -> gold rules per domain; DuckDB SQL over Arrow, no Dagster.

`pipelines()` is the registry of every domain's `DomainPipeline`: the code location builds
assets from it and the API lists gold tables from it, so adding a domain's pipeline is its
module and one line here, not an edit of every list of domains. A pipeline whose domain has a
generator (`generate.GENERATORS`) sits on that generator's landing tables; one without (insights)
builds gold from other domains' silver.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dataplatform.transform.pipeline import DomainPipeline


def pipelines() -> dict[str, DomainPipeline]:
    """Every domain's pipeline by domain name, in build order. The domain modules are imported
    when asked for, not with the package: each of them imports this package first (for
    `transform.pipeline`), so a registry filled at import would import them inside each other, and
    a process using one helper (`transform.pii`) would load every domain's rules."""
    from dataplatform.transform.ecommerce import ECOMMERCE
    from dataplatform.transform.insights import INSIGHTS
    from dataplatform.transform.market import MARKET
    from dataplatform.transform.sensors import SENSORS
    from dataplatform.transform.weather import WEATHER

    return {p.domain: p for p in (ECOMMERCE, MARKET, SENSORS, WEATHER, INSIGHTS)}
