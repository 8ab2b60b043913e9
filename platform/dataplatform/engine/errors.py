"""The engine's one error, the base of the storage layer's."""

from __future__ import annotations


class EngineError(RuntimeError):
    """DuckDB cannot do as asked here: an extension not installed, the lake's S3 credentials not
    set, a name that cannot be an identifier. The message says what to do about it."""
