"""The asset-key scheme, owned here: every key the platform builds or takes apart goes through
these functions, so a key written in one place (an asset, a job's selection, a check's
dependency, a CLI's `--from-asset`, the API's table list) is always the key read in another.

A key is a path of names, kept as a tuple so the core packages can use it without Dagster
(`defs/tables.py` turns it into a `dg.AssetKey`):

- `<layer>/<domain>/<table>` for the medallion layers (landing, bronze, silver, gold), each
  stored as the table of the same three names; a silver table's dropped rows are the table
  `<table>_quarantine` beside it; the platform's own figures are gold tables of domain `platform`;
- `reference/<table>` for a drop-folder table, stored as `reference/files/<table>` (a stored
  table always has three names, a reference table has no domain of its own);
- `datasets/<name>/<split>`, `features/<name>/<split>`, `models/<dataset>/<model>` and
  `predictions/<dataset>/<model>` for registered ML datasets and their models, kept in stores
  of their own.
"""

from __future__ import annotations

from collections.abc import Sequence

from dataplatform.settings import LAYERS as MEDALLION_LAYERS
from dataplatform.storage.contract import StorageError, TableName

KeyPath = tuple[str, ...]

LANDING, BRONZE, SILVER, GOLD = MEDALLION_LAYERS
REFERENCE = "reference"
REFERENCE_DOMAIN = "files"
DATASETS = "datasets"
FEATURES = "features"
MODELS = "models"
PREDICTIONS = "predictions"
PLATFORM_DOMAIN = "platform"
QUARANTINE_SUFFIX = "_quarantine"
SEPARATOR = "/"


class AssetKeyError(ValueError):
    """Text that names no asset of the scheme; the message says what was given and what fits."""


def medallion(layer: str, domain: str, table: str) -> KeyPath:
    return (layer, domain, table)


def quarantine(domain: str, table: str) -> KeyPath:
    """Where silver keeps the rows of `table` it dropped."""
    return (SILVER, domain, table + QUARANTINE_SUFFIX)


def platform_metric(table: str) -> KeyPath:
    """A gold table of what the platform's runs did, gathered from the Dagster instance."""
    return (GOLD, PLATFORM_DOMAIN, table)


def reference(table: str) -> KeyPath:
    return (REFERENCE, table)


def dataset(name: str, split: str) -> KeyPath:
    return (DATASETS, name, split)


def features(name: str, split: str) -> KeyPath:
    return (FEATURES, name, split)


def models_of(dataset: str) -> KeyPath:
    """The prefix every model of a dataset's key starts with (for selecting them all)."""
    return (MODELS, dataset)


def model(dataset: str, name: str) -> KeyPath:
    return (*models_of(dataset), name)


def predictions(dataset: str, name: str) -> KeyPath:
    return (PREDICTIONS, dataset, name)


def text(path: Sequence[str]) -> str:
    """A key as users write it and the CLI and API show it: `silver/ecommerce/orders`."""
    return SEPARATOR.join(path)


def parse(key: str) -> KeyPath:
    """A key as users write it (surrounding blanks and slashes ignored) as a path; an empty name
    anywhere (`gold//orders`) is refused rather than read as a key no asset has."""
    path = _split(key)
    if "" in path:
        raise AssetKeyError(
            f"asset {key!r} has an empty name: write names joined by '/', e.g. silver/ecommerce/orders"
        )
    return path


def under(path: Sequence[str], prefix: KeyPath) -> bool:
    return tuple(path[: len(prefix)]) == prefix


def domain_table(path: Sequence[str], layer: str) -> tuple[str, str] | None:
    """(domain, table) of a `<layer>/<domain>/<table>` key, None for a key of any other shape."""
    if len(path) == 3 and path[0] == layer:
        return path[1], path[2]
    return None


def reference_name(path: Sequence[str]) -> str | None:
    """The table of a `reference/<table>` key, None for any other key."""
    return path[1] if len(path) == 2 and path[0] == REFERENCE else None


def is_lake_table(path: Sequence[str]) -> bool:
    """Whether a key names a table of the lake's layer stores (a medallion or reference table);
    registered datasets and models keep stores of their own."""
    return (len(path) == 3 and path[0] in MEDALLION_LAYERS) or reference_name(path) is not None


def table_name(path: Sequence[str]) -> TableName:
    """The stored table of a key of three names, or of a reference key (see the module's doc);
    a `StorageError` when a name is not a valid identifier."""
    table = reference_name(path)
    if table is not None:
        return TableName(REFERENCE, REFERENCE_DOMAIN, table)
    if len(path) != 3:
        raise AssetKeyError(f"asset {text(path)!r} names no stored table: a table's key has three names")
    return TableName(*path)


def lake_table(key: str) -> tuple[str, TableName]:
    """A user's key of a lake table, normalised, and the table it names: `layer/domain/table` of
    the medallion layers, or `reference/<table>`, a drop-folder table."""
    path = _split(key)
    if not is_lake_table(path):
        raise AssetKeyError(
            f"asset {key!r} is neither layer/domain/table ({', '.join(MEDALLION_LAYERS)}) "
            "nor reference/<table>, e.g. gold/ecommerce/customer_value or reference/currency_rates"
        )
    try:
        return text(path), table_name(path)
    except StorageError as error:
        raise AssetKeyError(f"asset {key!r}: {error}") from error


def _split(key: str) -> KeyPath:
    return tuple(key.strip().strip(SEPARATOR).split(SEPARATOR))
