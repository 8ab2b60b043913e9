"""Finding registered datasets by name, tag or description with shell-style patterns (`*`, `?`, `[...]`).

A pattern without wildcards matches anywhere in the text, as a search box would; matching
ignores case.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Literal

from dataplatform.datasets.errors import DatasetError
from dataplatform.datasets.spec import DatasetSpec

Field = Literal["any", "name", "tag", "description"]
FIELDS: tuple[str, ...] = ("any", "name", "tag", "description")


def search(specs: list[DatasetSpec], pattern: str, field: Field = "any") -> list[DatasetSpec]:
    if field not in FIELDS:
        raise DatasetError(f"search field {field!r} is not one of {', '.join(FIELDS)}")
    wanted = pattern.lower()
    if not any(c in wanted for c in "*?["):
        wanted = f"*{wanted}*"
    return [spec for spec in specs if any(fnmatchcase(text.lower(), wanted) for text in _texts(spec, field))]


def _texts(spec: DatasetSpec, field: Field) -> list[str]:
    texts = {"name": [spec.name], "tag": list(spec.tags), "description": [spec.description]}
    if field == "any":
        return [t for group in texts.values() for t in group]
    return texts[field]
