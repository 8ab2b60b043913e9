"""DuckDB extensions from their PyPI packages: DuckDB cannot download them here at run time.

The package `duckdb-extension-<name>` ships the extension built for one duckdb release, so
the duckdb pin and the package pin must match (see pyproject.toml).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

from dataplatform.engine.errors import EngineError
from dataplatform.engine.identifiers import string_literal

if TYPE_CHECKING:
    import duckdb


def extension_path(name: str) -> Path:
    import duckdb

    spec = importlib.util.find_spec(f"duckdb_extension_{name}")
    wanted = f"duckdb-extension-{name}=={duckdb.__version__}"
    if spec is None or spec.origin is None:
        raise EngineError(f"the DuckDB extension {name!r} is not installed: pip install {wanted}")
    path = Path(spec.origin).parent / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    if not path.is_file():
        raise EngineError(
            f"the installed {name!r} extension does not match duckdb {duckdb.__version__}: pip install {wanted}"
        )
    return path


def load_extension(connection: duckdb.DuckDBPyConnection, name: str) -> None:
    connection.execute(f"LOAD {string_literal(str(extension_path(name)))}")
