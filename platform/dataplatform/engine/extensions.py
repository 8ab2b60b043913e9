"""DuckDB extensions from their PyPI packages: DuckDB cannot download them here at run time.

The package `duckdb-extension-<name>` ships the extension built for one duckdb release, so
the duckdb pin and the package pin must match (see pyproject.toml).

DuckDB checks an extension's signature at every LOAD into a new database by hashing the whole
file: 40 to 60 ms for these 20 to 40 MB files, paid per operation by the stores that open a
database per operation (DuckLake, the datasets on PostgreSQL) and more than the operation itself.
`connect` has it checked once per process and file: later databases load the same file, unchanged
since (same inode, size and modification time), without the check.
"""

from __future__ import annotations

import importlib.util
import os
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


_VERIFIED: dict[Path, tuple[int, int, int]] = {}  # extension file -> its stamp when DuckDB checked it


def connect(*names: str) -> duckdb.DuckDBPyConnection:
    """A new in-memory DuckDB database with the extensions `names` loaded, their signatures
    checked by DuckDB unless this process has had the same files checked before."""
    import duckdb

    paths = [extension_path(name) for name in names]
    checked = bool(paths) and all(_VERIFIED.get(path) == _stamp(path) for path in paths)
    connection = duckdb.connect(config={"allow_unsigned_extensions": True} if checked else {})
    try:
        for path in paths:
            stamp = _stamp(path)  # before the load: a file replaced meanwhile is checked again later
            connection.execute(f"LOAD {string_literal(str(path))}")
            if not checked:
                _VERIFIED[path] = stamp
    except BaseException:
        connection.close()
        raise
    return connection


def _stamp(path: Path) -> tuple[int, int, int]:
    status = os.stat(path)
    return (status.st_ino, status.st_size, status.st_mtime_ns)
