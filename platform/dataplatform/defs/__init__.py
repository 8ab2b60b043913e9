"""The Dagster layer: the only package that imports dagster. Built from settings by
`build_definitions`, so tests can build the same definitions over temporary folders."""

from dataplatform.defs.build import build_definitions

__all__ = ["build_definitions"]
