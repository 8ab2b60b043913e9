"""A registered dataset's spec, one small YAML file per dataset, so specs can be reviewed and versioned in git.

The spec says what a dataset is (where it came from, its ids, target, problem type, column
types) and why each of those was decided; the data itself lives in the dataset store. Every
command names datasets through `normalise_name`, so `My-Data` and `my_data` are one dataset.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

import yaml

from dataplatform.datasets.errors import DatasetError
from dataplatform.transform.pii import BadMark, PiiRule, parse_marks

# libyaml's safe loader when PyYAML was built with it: a spec loads in 0.7 ms instead of 6 ms,
# which is paid on every `load`, `info` and `stats`.
SPEC_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

SourceKind = Literal["file", "folder", "asset"]
ProblemType = Literal["binary", "multiclass", "regression"]
ColumnType = Literal["numeric", "categorical", "datetime", "text", "id", "index"]

SOURCE_KINDS: tuple[str, ...] = ("file", "folder", "asset")
PROBLEM_TYPES: tuple[str, ...] = ("binary", "multiclass", "regression")
COLUMN_TYPES: tuple[str, ...] = ("numeric", "categorical", "datetime", "text", "id", "index")
MAX_NAME_LENGTH = 63  # PostgreSQL's identifier limit: the name is also a schema name
_NAME = re.compile(r"[a-z0-9_-]+")
# Schemas every DuckDB catalog or PostgreSQL database has (PostgreSQL keeps `pg_*` for itself): a
# dataset's schema cannot take their names, in either store, so a dataset can move between them.
RESERVED = frozenset({"main", "public", "information_schema"})
RESERVED_PREFIX = "pg_"


def normalise_name(raw: str) -> str:
    """The canonical dataset name: lower case, `-` turned into `_`.

    Refused (rather than silently cleaned) when it holds anything else, because the name becomes
    a file name and a schema name: `../x`, `a/b` or `a b` would escape or confuse both.
    """
    text = raw.strip().lower()
    if not text:
        raise DatasetError("a dataset name is required: use lower-case letters, digits, '_' or '-'")
    if ".." in text or "/" in text or "\\" in text:
        raise DatasetError(
            f"dataset name {raw!r} contains a path ('..', '/' or '\\'); use only letters, digits, '_' or '-'"
        )
    if not _NAME.fullmatch(text):
        bad = sorted({c for c in text if not _NAME.fullmatch(c)})
        raise DatasetError(
            f"dataset name {raw!r} contains {''.join(bad)!r}; use only letters, digits, '_' or '-'"
        )
    name = text.replace("-", "_")
    if len(name) > MAX_NAME_LENGTH:
        raise DatasetError(f"dataset name {raw!r} is longer than {MAX_NAME_LENGTH} characters")
    if name.startswith("_"):
        raise DatasetError(f"dataset name {raw!r} must start with a letter or digit")
    if name in RESERVED or name.startswith(RESERVED_PREFIX):
        raise DatasetError(f"dataset name {raw!r} is reserved by the dataset store; choose another name")
    return name


def personal_data_check(split: str) -> str:
    """The name of a split's check that no e-mail or phone number is in clear (`checks`), known
    from the spec alone, so the code location can declare it without the store."""
    return f"{split}_no_personal_data"


@dataclass(frozen=True)
class DatasetSpec:
    """Everything the registry knows about one dataset; `reasons` says why each detected value was chosen."""

    name: str
    source_kind: SourceKind
    source: str
    splits: list[str]
    id_columns: list[str] = field(default_factory=list)
    target: str | None = None
    problem_type: ProblemType | None = None
    class_count: int | None = None
    datetime_columns: list[str] = field(default_factory=list)
    column_types: dict[str, ColumnType] = field(default_factory=dict)
    description: str = ""
    tags: list[str] = field(default_factory=list)
    features: bool = True
    reasons: dict[str, str] = field(default_factory=dict)
    registered_at: str = ""
    # Which registration of the data this is (1, 2, ...) and the content hash of its splits
    # (`contenthash`), so a model can record the data it was trained on and load it again.
    version: int | None = None
    version_hash: str | None = None
    # Columns the user marked as personal data, column -> rule as written (`pii.parse_marks`):
    # masked before any split is stored, so never in clear in splits, statistics, features or
    # exports; and text columns that may look like an e-mail or phone without being personal.
    personal: dict[str, Any] = field(default_factory=dict)
    safe: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.personal_rules()  # a spec file edited by hand is refused when read, not when used
        if self.source_kind not in SOURCE_KINDS:
            raise DatasetError(f"source kind {self.source_kind!r} is not one of {', '.join(SOURCE_KINDS)}")
        if self.problem_type is not None and self.problem_type not in PROBLEM_TYPES:
            raise DatasetError(f"problem type {self.problem_type!r} is not one of {', '.join(PROBLEM_TYPES)}")
        for column, kind in self.column_types.items():
            if kind not in COLUMN_TYPES:
                raise DatasetError(
                    f"column type {kind!r} of {column!r} is not one of {', '.join(COLUMN_TYPES)}"
                )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def personal_rules(self) -> dict[str, PiiRule]:
        """The rule masking each personal column."""
        try:
            return parse_marks(self.personal, f"dataset {self.name!r}")
        except BadMark as error:
            raise DatasetError(str(error)) from None

    @classmethod
    def from_dict(cls, data: dict[str, Any], origin: str = "spec") -> DatasetSpec:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise DatasetError(f"{origin}: unknown field(s) {', '.join(unknown)}")
        missing = [n for n in ("name", "source_kind", "source", "splits") if n not in data]
        if missing:
            raise DatasetError(f"{origin}: missing field(s) {', '.join(missing)}")
        return cls(**data)


class SpecRegistry:
    """The folder of spec files, `<folder>/<name>.yaml`; writes are atomic (temp file, then rename)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def path_for(self, name: str) -> Path:
        return self.folder / f"{normalise_name(name)}.yaml"

    def exists(self, name: str) -> bool:
        return self.path_for(name).is_file()

    def save(self, spec: DatasetSpec, force: bool = False) -> Path:
        """Write `spec`; an existing spec of the same name is kept unless `force`."""
        path = self.path_for(spec.name)
        if path.exists() and not force:
            raise DatasetError(
                f"dataset '{spec.name}' is already registered; pass force to replace it "
                "(CLI: --force) or choose another name"
            )
        self.folder.mkdir(parents=True, exist_ok=True)
        text = yaml.safe_dump(spec.to_dict(), sort_keys=False, allow_unicode=True)
        handle, temp = tempfile.mkstemp(dir=self.folder, prefix=f".{spec.name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(text)
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        return path

    def load(self, name: str) -> DatasetSpec:
        path = self.path_for(name)
        if not path.is_file():
            known = ", ".join(self.names()) or "none"
            raise DatasetError(f"no dataset named '{normalise_name(name)}' (registered: {known})")
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=SPEC_LOADER)
        except yaml.YAMLError as error:
            raise DatasetError(f"{path}: not valid YAML ({error})") from error
        if not isinstance(data, dict):
            raise DatasetError(f"{path}: expected a mapping of spec fields")
        return DatasetSpec.from_dict(data, origin=str(path))

    def names(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(p.stem for p in self.folder.glob("*.yaml"))

    def list(self) -> list[DatasetSpec]:
        return [self.load(name) for name in self.names()]

    def update(self, name: str, **changes: Any) -> DatasetSpec:
        """The stored spec with `changes` applied, saved; the name itself cannot change."""
        if "name" in changes:
            raise DatasetError("a dataset cannot be renamed by update; register it under the new name")
        spec = replace(self.load(name), **changes)
        self.save(spec, force=True)
        return spec

    def remove(self, name: str) -> Path:
        path = self.path_for(name)
        if not path.is_file():
            raise DatasetError(f"no dataset named '{normalise_name(name)}'")
        path.unlink()
        return path
