"""Storage: one table contract (`contract.py`), a module per backend, and the registry that
opens a backend's store by name (`backends.py`).

Backends are imported only when a store is opened, so code that never touches a backend never
pays for its library.
"""

from __future__ import annotations

from dataplatform.storage.backends import open_store, store_for_layer
from dataplatform.storage.contract import Slice, StorageError, TableName, TableStore

__all__ = ["Slice", "StorageError", "TableName", "TableStore", "open_store", "store_for_layer"]
