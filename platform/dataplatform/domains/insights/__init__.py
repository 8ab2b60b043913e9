"""Gold across domains (sales beside the weather, ...): no generator and no tables of its own,
its pipeline reads the other domains' silver."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dataplatform.domains import Domain

if TYPE_CHECKING:
    from dataplatform.transform.pipeline import DomainPipeline


def _pipeline() -> DomainPipeline:
    from dataplatform.domains.insights.pipeline import INSIGHTS

    return INSIGHTS


DOMAIN = Domain(name="insights", pipeline=_pipeline)
