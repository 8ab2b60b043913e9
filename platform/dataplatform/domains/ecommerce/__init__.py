"""Seeded e-commerce: customers and products (master), orders and order items (daily).

The domain declared for the registry (`dataplatform.domains`); its generator and pipeline
spec are imported when built."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dataplatform.domains import Domain, DomainGenerator
from dataplatform.settings import Settings

if TYPE_CHECKING:
    from dataplatform.transform.pipeline import DomainPipeline


def _generator(settings: Settings) -> DomainGenerator:
    from dataplatform.domains.ecommerce.generator import EcommerceGenerator

    return EcommerceGenerator(settings.seed, settings.ecommerce, settings.defect_rate)


def _pipeline() -> DomainPipeline:
    from dataplatform.domains.ecommerce.pipeline import ECOMMERCE

    return ECOMMERCE


DOMAIN = Domain(
    name="ecommerce",
    generator=_generator,
    pipeline=_pipeline,
    master_tables=("customers", "products"),
    daily_tables=("orders", "order_items"),
    volumes_field="ecommerce",
    scaled=("customers", "products", "orders_per_day"),
)
