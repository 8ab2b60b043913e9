"""Mapping between asset keys and storage tables, and the partition slices they imply."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import dagster as dg

from dataplatform.storage.contract import Slice, TableName

PARTITION_COLUMN = "partition_column"  # asset metadata: daily partitions live in this column
REPLACE_ON = "replace_on"  # asset metadata: unpartitioned writes replace the batches they carry


REFERENCE_DOMAIN = "files"  # reference/<table> is stored as reference/files/<table>


def table_for(key: dg.AssetKey) -> TableName:
    if len(key.path) == 2 and key.path[0] == "reference":
        return TableName("reference", REFERENCE_DOMAIN, key.path[1])
    layer, domain, name = key.path
    return TableName(layer, domain, name)


def daily_slice(column: str, partition_keys: Sequence[str]) -> Slice:
    return Slice(column, tuple(date.fromisoformat(k) for k in partition_keys))
