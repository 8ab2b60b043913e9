"""Data-quality checks as pure functions over Arrow tables; Dagster wiring lives in defs/."""
