"""One deterministic rule turning any header into safe, unique column names.

Safe means a plain SQL identifier in every backend: lower-case ASCII letters, digits and
underscores, starting with a letter, at most 63 characters (PostgreSQL's limit). The mapping
from each original name is recorded, so nothing about the delivered header is lost.
"""

from __future__ import annotations

import re
import unicodedata

MAX_LENGTH = 63


def safe_names(header: list[str | None]) -> list[str]:
    """`header` made safe and unique, position by position: the same header always gives the
    same names. Empty names become `column_<n>` (n counting from 1); repeats get `_2`, `_3`."""
    names: list[str] = []
    taken: set[str] = set()
    for position, raw in enumerate(header, start=1):
        base = _clean(raw or "") or f"column_{position}"
        name, copy = base, 1
        while name in taken:
            copy += 1
            suffix = f"_{copy}"
            name = base[: MAX_LENGTH - len(suffix)] + suffix
        taken.add(name)
        names.append(name)
    return names


def _clean(text: str) -> str:
    text = text.replace("\ufeff", "").strip()
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    name = re.sub(r"[^0-9a-zA-Z]+", "_", ascii_text).strip("_").lower()
    if name and not name[0].isalpha():
        name = f"c_{name}"
    return name[:MAX_LENGTH].rstrip("_")
