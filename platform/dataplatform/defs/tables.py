"""The Dagster side of the asset-key scheme (`dataplatform.assetkeys`): its paths as
`dg.AssetKey`s and back, the storage table a key names, and the partition slices they imply."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import dagster as dg

from dataplatform import assetkeys
from dataplatform.assetkeys import KeyPath
from dataplatform.engine.scans import SqlRows
from dataplatform.storage.contract import Slice, TableName

if TYPE_CHECKING:
    import pyarrow as pa

PARTITION_COLUMN = "partition_column"  # asset metadata: daily partitions live in this column
REPLACE_ON = "replace_on"  # asset metadata: unpartitioned writes replace the batches they carry


SCAN = "scan"  # input metadata: hand the asset a lazily scanned slice instead of a table in memory


@dataclass(frozen=True)
class Streamed:
    """An asset's rows as a stream (or a DuckDB query's rows, which the Delta store lets DuckDB
    write as its files), written without holding them all. An asset that replaces by batch
    (`REPLACE_ON`) names the batches it carries: the slice to replace must be known before the
    first row is read."""

    reader: pa.RecordBatchReader | SqlRows
    batches: tuple[str, ...] = ()


def key_for(path: KeyPath) -> dg.AssetKey:
    return dg.AssetKey(list(path))


def path_of(key: dg.AssetKey) -> KeyPath:
    return tuple(key.path)


def table_for(key: dg.AssetKey) -> TableName:
    return assetkeys.table_name(key.path)


def daily_slice(column: str, partition_keys: Sequence[str]) -> Slice:
    return Slice(column, tuple(date.fromisoformat(k) for k in partition_keys))
