"""Registered ML datasets: specs, detection, statistics, features, storage and the Python client.

Pure Python over DuckDB and Arrow, no Dagster: the CLI, the Dagster assets and notebooks all
call `DatasetClient` (or the modules beneath it) directly. Importing this package is cheap;
pandas is imported only where a frame is made.
"""

from dataplatform.datasets.errors import DatasetError

__all__ = ["DatasetError"]
