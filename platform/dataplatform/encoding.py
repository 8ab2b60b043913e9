"""JSON for values the platform stores: dates as ISO 8601, decimals as numbers, NaN as null.

JSON has no NaN or infinity; gold figures (returns, volatility) and check metadata can hold them,
and an API answering with invalid JSON breaks every strict client.
"""

from __future__ import annotations

import base64
import math
from datetime import date, datetime
from decimal import Decimal
from typing import Any


def json_default(value: Any) -> Any:
    """What `json.dumps` cannot write itself."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if hasattr(value, "total_seconds"):
        return value.total_seconds()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def jsonable(value: Any) -> Any:
    """A copy JSON can hold: non-finite floats as null, unknown objects as text."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, str)):
        return value
    try:
        return jsonable(json_default(value))
    except TypeError:
        return str(value)
