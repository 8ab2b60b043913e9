"""What a reference table expects of its files: `_table.yaml` in its folder, a sidecar per file.

    mode: full            # full (replace, keeping a backup) | append | upsert
    keys: [currency]      # unique per row; upsert matches on them
    required: [currency]  # must be present in every file and never null
    types: {code: text}   # by safe column name: text, integer, decimal, date, timestamp, boolean
    format: {delimiter: ";", header: true, encoding: cp1252, skip_rows: 2}
    bad_rows: reject      # a row without the header's field count: reject (the file) | quarantine | pad
    null_values: [NA, "-"]    # cells read as null besides the empty one (by default NA is text)
    schema_change: reject # a file whose columns differ from the table's: reject | evolve
    personal: {email: pseudonymise, name: partial, address: drop}   # masked before the table is stored
    safe: [support_email] # text columns that may look like an e-mail or phone without being personal
    description: Daily reference rates.

`personal` takes the rules of `transform/pii.py` (see `parse_marks`): a marked column is read as
text and masked before any of it is stored, so its values never land in the table in clear; a
mark naming a column the file does not have rejects the file.

A sidecar `<file>.yaml` beside a delivered file has the same fields and wins over `_table.yaml`
for that file only; `format` and `types` override what detection found, field by field.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, TypeVar

from dataplatform.ingest.dropzone import LOCAL_FILES, TABLE_CONFIG, TABLE_NAME, Files
from dataplatform.ingest.modes import MODES, Mode
from dataplatform.ingest.read import POLICIES, Policy
from dataplatform.transform.pii import BadMark, Drop, PiiRule, mark_text, parse_marks

if TYPE_CHECKING:
    from dataplatform.ingest.detect import Detected

RESERVED = frozenset({"file_ledger"})  # the platform's own tables beside the reference ones
REJECTS_SUFFIX = "_rejects"  # `<table>_rejects` keeps a table's quarantined rows
TYPES = ("text", "integer", "decimal", "date", "timestamp", "boolean")
SCHEMA_CHANGES = ("reject", "evolve")


def reserved(table: str) -> bool:
    """Names the platform keeps for its own tables beside the reference ones."""
    return table in RESERVED or table.endswith(REJECTS_SUFFIX)


FIELDS = (
    "mode",
    "keys",
    "required",
    "types",
    "format",
    "bad_rows",
    "null_values",
    "schema_change",
    "personal",
    "safe",
    "description",
)


class ConfigError(ValueError):
    """A `_table.yaml` or sidecar the platform cannot follow; the message names the file."""


@dataclass(frozen=True)
class TableConfig:
    name: str
    mode: Mode = "full"
    keys: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    types: dict[str, str] = field(default_factory=dict)
    format: dict[str, object] = field(default_factory=dict)
    bad_rows: Policy = "reject"
    null_values: tuple[str, ...] = ()
    schema_change: str = "reject"
    personal: dict[str, PiiRule] = field(default_factory=dict)
    safe: tuple[str, ...] = ()
    description: str = ""

    @classmethod
    def of_folder(cls, folder: PurePath, files: Files = LOCAL_FILES) -> TableConfig:
        """The table declared by `folder/_table.yaml`, read through `files` (a disk or a bucket)."""
        return cls(folder.name)._with(_read_yaml(folder / TABLE_CONFIG, files), folder / TABLE_CONFIG)

    def for_file(self, path: PurePath, files: Files = LOCAL_FILES) -> TableConfig:
        """This table's config with the file's sidecar, if any, on top."""
        sidecar = path.with_name(path.name + ".yaml")
        return self._with(_read_yaml(sidecar, files), sidecar) if files.info(sidecar) else self

    def fingerprint(self) -> str:
        """What decides how a file is read and loaded, as a short hash: the same bytes under a
        changed YAML (a fixed delimiter, a new policy) are a new delivery, not a duplicate."""
        import hashlib
        import json

        read_as = dataclasses.asdict(self) | {
            "description": "",
            "personal": {c: mark_text(rule) for c, rule in self.personal.items()},  # asdict: {} for any rule
        }
        return hashlib.sha256(json.dumps(read_as, sort_keys=True, default=str).encode()).hexdigest()[:16]

    def detect(self, path: Path, table_columns: list[str] | None = None) -> Detected:
        """How `path` is written, detected around what this config declares (its `format`, null
        values and types) and the columns of the table it goes into. Personal columns are read
        as text: a phone number read as an integer would lose its leading zero (and its
        pseudonym would differ from silver's), and a value misfitting a type is quoted in errors."""
        from dataplatform.ingest.detect import detect

        detected = detect(path, self.format, self.null_values, table_columns)
        personal = {c: "text" for c in self.personal}
        return dataclasses.replace(detected, types={**detected.types, **self.types, **personal})

    def _with(self, raw: dict, source: PurePath) -> TableConfig:
        unknown = sorted(set(raw) - set(FIELDS))
        if unknown:
            raise ConfigError(f"{source.name}: unknown fields {unknown}; known: {list(FIELDS)}")
        mode = raw.get("mode", self.mode)
        if mode not in MODES:
            raise ConfigError(f"{source.name}: mode {mode!r} is not one of {', '.join(MODES)}")
        types = {**self.types, **_mapping(raw, "types", source)}
        bad = {c: t for c, t in types.items() if t not in TYPES}
        if bad:
            raise ConfigError(f"{source.name}: unknown types {bad}; use {', '.join(TYPES)}")
        keys = _names(raw, "keys", source, self.keys)
        if mode == "upsert" and not keys:
            raise ConfigError(f"{source.name}: mode upsert needs keys")
        bad_rows = _choice(raw, "bad_rows", source, self.bad_rows, POLICIES)
        schema_change = _choice(raw, "schema_change", source, self.schema_change, SCHEMA_CHANGES)
        given = _mapping(raw, "format", source)
        from dataplatform.ingest.detect import GIVEN_FIELDS

        unknown = sorted(set(given) - GIVEN_FIELDS)
        if unknown:
            raise ConfigError(
                f"{source.name}: unknown format fields {unknown}; known: {sorted(GIVEN_FIELDS)}"
            )
        try:
            personal = {**self.personal, **parse_marks(raw.get("personal"), source.name)}
        except BadMark as error:
            raise ConfigError(str(error)) from None
        typed = sorted(c for c in personal if types.get(c, "text") != "text")
        if typed:
            raise ConfigError(f"{source.name}: personal columns are read as text; remove {typed} from types")
        dropped_keys = [k for k in keys if k in personal and personal[k] == Drop()]
        if dropped_keys:
            raise ConfigError(f"{source.name}: key {dropped_keys} cannot be dropped; pseudonymise it instead")
        return dataclasses.replace(
            self,
            mode=mode,
            keys=keys,
            required=_names(raw, "required", source, self.required),
            types=types,
            format={**self.format, **given},
            bad_rows=bad_rows,
            null_values=tuple(
                str(v) for v in _names(raw, "null_values", source, self.null_values, scalars=True)
            ),
            schema_change=schema_change,
            personal=personal,
            safe=_names(raw, "safe", source, self.safe),
            description=str(raw.get("description", self.description)),
        )


def _read_yaml(path: PurePath, files: Files) -> dict:
    import yaml

    try:
        raw = yaml.safe_load(files.read_bytes(path).decode("utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ConfigError(f"{path.name} cannot be read: {str(error).splitlines()[0]}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path.name} must be a mapping of settings, not {type(raw).__name__}")
    return raw


def _mapping(raw: dict, name: str, source: PurePath) -> dict:
    value = raw.get(name) or {}
    if not isinstance(value, dict):
        raise ConfigError(f"{source.name}: {name} must be a mapping")
    return value


def _names(
    raw: dict, name: str, source: PurePath, default: tuple[str, ...], scalars: bool = False
) -> tuple[str, ...]:
    """A list of names; with `scalars`, of values YAML may have typed (`null_values: [NA, -1]`)."""
    value = raw.get(name, list(default))
    if isinstance(value, str):
        value = [value]
    allowed = (str, int, float) if scalars else (str,)
    if not isinstance(value, list) or not all(
        isinstance(v, allowed) and not isinstance(v, bool) for v in value
    ):
        raise ConfigError(
            f"{source.name}: {name} must be a list of {'values' if scalars else 'column names'}"
        )
    return tuple(str(v) for v in value)


Choice = TypeVar("Choice", bound=str)


def _choice(raw: dict, name: str, source: PurePath, default: Choice, choices: tuple[Choice, ...]) -> Choice:
    value = raw.get(name, default)
    if value not in choices:
        raise ConfigError(f"{source.name}: {name} {value!r} is not one of {', '.join(choices)}")
    return value


def declared_tables(
    incoming: PurePath, examples: Path | None = None, files: Files = LOCAL_FILES
) -> dict[str, TableConfig]:
    """Every reference table: a folder with `_table.yaml` in the drop folder (read through
    `files`) or among the shipped examples (on local disk); the drop folder's wins. A folder
    whose config is broken is left out: the sensor rejects its files with the reason."""
    found: dict[str, TableConfig] = {}
    for root, reader in ((examples, LOCAL_FILES), (incoming, files)):
        if root is None:
            continue
        for folder in reader.folders(root):
            if reserved(folder.name) or not TABLE_NAME.fullmatch(folder.name):
                continue
            if reader.info(folder / TABLE_CONFIG) is not None:
                try:
                    found[folder.name] = TableConfig.of_folder(folder, reader)
                except ConfigError:
                    continue
    return found
