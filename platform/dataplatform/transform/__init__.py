"""Pure bronze -> silver -> gold rules per domain; DuckDB SQL over Arrow, no Dagster."""
