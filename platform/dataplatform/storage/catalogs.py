"""Where a backend that keeps a catalog (Iceberg, DuckLake) puts the catalog and the data files.

Both catalogs are single-file databases (SQLite for Iceberg, DuckDB for DuckLake), updated in
place, which object storage cannot do. So for a local root the catalog and the data share the
root folder, and for `s3://bucket/prefix` the data files (and Iceberg's metadata files) go to
the bucket while the catalog stays on this machine, in a folder named after the URI under
DATAPLATFORM_DATA_DIR: `<data_dir>/catalogs/<bucket>/<prefix>/`. Every later run against the
same URI finds it there, which is what replacing a partition needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from dataplatform.engine.errors import EngineError
from dataplatform.storage import lake
from dataplatform.storage.contract import StorageError

CATALOGS_FOLDER = "catalogs"


@dataclass(frozen=True)
class CatalogPlace:
    catalog_dir: Path  # local: the catalog file lives here
    data_root: str  # the root folder, or the s3:// URI

    @property
    def remote(self) -> bool:
        return lake.is_remote(self.data_root)

    def describe(self, catalog_file: str, where: str) -> str:
        """A table's location for people: the catalog, and the data's URI when it is elsewhere."""
        shown = f"{self.catalog_dir / catalog_file}::{where}"
        return f"{shown} (data in {self.data_root})" if self.remote else shown


def catalog_place(root: str, data_dir: Path) -> CatalogPlace:
    """The place for tables under `root` (a local folder or an s3:// URI), or a StorageError;
    nothing is created here (the store creates the catalog folder at its first write)."""
    if lake.is_remote(root):
        return _in_object_storage(root, data_dir)
    folder = Path(root).resolve()
    return CatalogPlace(catalog_dir=folder, data_root=str(folder))


def _in_object_storage(uri: str, data_dir: Path) -> CatalogPlace:
    url = urlsplit(uri)
    parts = url.path.split("/")[1:]
    if any(part in ("", ".", "..") for part in parts):
        raise StorageError(
            f"{uri}: a prefix with an empty, '.' or '..' part names no folder; write s3://bucket/prefix"
        )
    _check_bucket(uri, url.netloc)
    catalog_dir = data_dir.expanduser().resolve() / CATALOGS_FOLDER / url.netloc
    return CatalogPlace(catalog_dir=catalog_dir.joinpath(*parts), data_root=uri)


def _check_bucket(uri: str, bucket: str) -> None:
    """Refuse a bucket that is missing or unreachable before anything is written: a catalog
    created for data that then cannot be written would be left half made."""
    import pyarrow.fs as pafs

    try:
        fs, _ = lake.filesystem(uri)
        found = fs.get_file_info(bucket).type
    except EngineError as error:  # a bad location, or S3 credentials not set
        raise StorageError(str(error)) from None
    except OSError as error:  # Arrow's message names the endpoint and the S3 error, never a key
        raise StorageError(f"cannot use {uri}: {str(error).splitlines()[0]}") from None
    if found == pafs.FileType.NotFound:
        raise StorageError(
            f"bucket {bucket!r} does not exist (or these credentials cannot see it): create it first"
        )
