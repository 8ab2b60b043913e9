"""Where `dataplatform generate` writes: a storage backend, by name, on an output folder.

The writers are the storage backends registered as able to hold an output
(`settings.STORAGE_BACKENDS`, `output=True`): the generator opens the backend's store on the
output as one layer's folder, `<output>/<domain>/<table>` (or the format's equivalent: an
Iceberg namespace, a DuckLake schema), and writes through the storage contract. A partition or a
whole master table is replaced per call exactly as the lake replaces one, so a rerun of a range
leaves one copy of every row. A new writer is a new storage backend.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dataplatform.generate.export import GenerateError
from dataplatform.settings import STORAGE_BACKENDS

if TYPE_CHECKING:
    from dataplatform.generate.writers.base import Writer
    from dataplatform.storage.backends import WriteOptions


@dataclass(frozen=True)
class WriterSpec:
    name: str
    description: str
    remote: bool  # accepts s3://bucket/prefix as well as local folders (`--list` shows it)


WRITERS: dict[str, WriterSpec] = {
    b.name: WriterSpec(b.name, b.description, b.object_storage) for b in STORAGE_BACKENDS.values() if b.output
}


def writer_for(
    name: str, output: str, data_dir: Path | None = None, options: WriteOptions | None = None
) -> Writer:
    """The writer `name` on `output` (a local folder or s3://bucket/prefix). Catalogs of an
    output in object storage are kept under `data_dir` (default DATAPLATFORM_DATA_DIR)."""
    from dataplatform.generate.writers.base import Writer
    from dataplatform.settings import current_settings
    from dataplatform.storage.backends import WriteOptions

    if name not in WRITERS:
        raise GenerateError(f"unknown writer {name!r}; known: {', '.join(WRITERS)}")
    if output.startswith("s3://"):
        output = s3_output(output)
    elif "://" in output and not output.startswith("file://"):
        raise GenerateError(f"the {name} writer writes to a local folder or to s3://bucket/prefix")
    else:
        output = output.removeprefix("file://")
        if Path(output).is_file():
            raise GenerateError(f"{output} is a file; give a folder (it may not exist yet)")
    folder = data_dir if data_dir is not None else current_settings().data_dir
    return Writer(name, output, folder, options or WriteOptions())


def s3_output(output: str) -> str:
    """`s3://bucket/prefix` checked and normalised by the rule of DATAPLATFORM_LAKE_URI (a valid
    bucket; no credentials, query or fragment), validated through that settings field so both
    refuse the same URIs. The message never repeats the URI: a refused one may hold credentials."""
    from pydantic import ValidationError

    from dataplatform.settings import Settings

    try:
        checked = Settings.model_validate({"lake_uri": output}).lake_uri
    except ValidationError as error:
        problem = error.errors()[0]
        raise GenerateError(f"bad S3 output: {problem.get('ctx', {}).get('error', problem['msg'])}") from None
    assert checked is not None  # given a URI, the field's validator returns it or raises
    return checked
