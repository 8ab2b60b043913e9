"""A Dagster-orchestrated data platform: synthetic sources, medallion layers, quality, ML datasets."""
