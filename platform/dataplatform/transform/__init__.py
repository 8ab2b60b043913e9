"""Pure bronze -> silver -> gold machinery; DuckDB SQL over Arrow, no Dagster.

The declarative spec (`pipeline.DomainPipeline`: silver specs, gold tables, cross-table checks),
bronze lineage, silver cleaning, personal-data rules and the platform's own metrics. Each
domain's spec is in its package (`dataplatform.domains.<name>.pipeline`), found by the domain
registry, so this package names no domain.
"""
