"""The registry of domain pipelines: what the code location and the API build from."""

from __future__ import annotations

from dataplatform import assetkeys
from dataplatform.domains import generated, pipelines


def test_each_pipeline_is_registered_under_its_domain_and_pipelines_without_a_generator_have_only_gold() -> (
    None
):
    """A pipeline without a generator has no landing tables for silver to read: it builds gold."""
    registry = pipelines()
    assert all(name == p.domain for name, p in registry.items())
    assert all(not p.silver for p in registry.values() if p.domain not in generated())


def test_every_gold_input_is_a_registered_silver_table_or_a_reference_table() -> None:
    registry = pipelines()
    for pipeline in registry.values():
        for gold in pipeline.gold:
            for path in gold.sources(pipeline.domain).values():
                if assetkeys.reference_name(path) is not None:
                    continue
                found = assetkeys.domain_table(path, assetkeys.SILVER)
                assert found is not None, path
                domain, table = found
                assert domain in registry and table in registry[domain].silver, (gold.name, path)
