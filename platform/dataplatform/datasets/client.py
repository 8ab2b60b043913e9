"""`DatasetClient`: the Python entry point to registered datasets, used by notebooks, the CLI and the assets.

    from dataplatform.datasets.client import DatasetClient

    client = DatasetClient("data")
    spec = client.register("downloads/titanic", name="titanic", tags=["tabular"])
    train = client.load("titanic", sample=10_000)

Files live under `<data_dir>/datasets/`: `registry/<name>.yaml` (the specs, fit for git),
`dataset_store.duckdb` (the data, features and statistics) and `plugins/<name>.py` (optional feature
plugins; another folder can be given). Given a `postgres_url`, the data, features and statistics
live in that PostgreSQL database instead, a schema per dataset (`DatasetClient.for_settings` does
so under the `postgres` profile). Names are normalised by every method (`My-Data` is `my_data`).

Every registration whose data differs is a new version (`spec.version`, identified by
`spec.version_hash`); `info`, `stats`, `load` and `export` read the current one unless given
`version=`, and a model records the version it was trained on to read that data again.
"""

from __future__ import annotations

import builtins  # `DatasetClient.list` hides the built-in `list` in the class's annotations
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

import pyarrow as pa

from dataplatform.datasets import versions
from dataplatform.datasets.checks import DatasetCheck, check_dataset
from dataplatform.datasets.detect import Overrides
from dataplatform.datasets.errors import DatasetError
from dataplatform.datasets.export import export_dataset
from dataplatform.datasets.registration import (
    Progress,
    Request,
    arrow_loader,
    file_loader,
    rebuild,
    register,
    user_overrides,
)
from dataplatform.datasets.search import Field, search
from dataplatform.datasets.sources import Source, locate_source
from dataplatform.datasets.spec import DatasetSpec, SpecRegistry, normalise_name
from dataplatform.datasets.sql import store_backend
from dataplatform.datasets.store import DatasetStore
from dataplatform.datasets.timesplit import Fold, Mode, time_folds
from dataplatform.transform.pii import BadMark, parse_marks

if TYPE_CHECKING:
    import pandas as pd

    from dataplatform.settings import Settings

SORT_KEYS = ("name", "registered_at", "problem_type", "source_kind")


@dataclass(frozen=True)
class Removal:
    """What `remove` took away (or, on a dry run, would take away)."""

    name: str
    spec_file: Path
    tables: list[str]
    versions: list[int]
    done: bool


class DatasetClient:
    def __init__(
        self,
        data_dir: str | Path,
        plugins_dir: str | Path | None = None,
        source_roots: Sequence[str | Path] | None = None,
        postgres_url: str | None = None,
        pii_secret: str | None = None,
    ) -> None:
        """`source_roots`, when set, are the only folders files may be registered from (symlinks
        resolved; see `sources.locate_source`); unset, any path is taken, as Python code can read
        any file anyway, and `for_settings` sets the configured ones. `postgres_url`, when set, is
        the database holding the data (the specs stay in the folder). `pii_secret`
        (`DATAPLATFORM_PII_SECRET`) keys the pseudonyms of columns marked `pseudonymise`."""
        root = Path(data_dir) / "datasets"
        self.registry = SpecRegistry(root / "registry")
        self.store = DatasetStore(root, postgres_url)
        self.plugins_dir = Path(plugins_dir) if plugins_dir is not None else root / "plugins"
        self.source_roots = None if source_roots is None else [Path(r) for r in source_roots]
        self._pii_secret = pii_secret

    @classmethod
    def for_settings(cls, settings: Settings, pii_secret: str | None = None) -> DatasetClient:
        """The client the settings describe: the one place the storage profile picks the store
        (PostgreSQL at `DATAPLATFORM_POSTGRES_URL` under the `postgres` profile, else DuckDB), and
        the folders files may be registered from (`DATAPLATFORM_DATASETS_ROOT`), so the CLI and
        the Dagster assets read only files there. The pseudonyms' key is `pii_secret` where given
        (a Dagster run's, from its `EnvVar`), else the settings'."""
        url = settings.postgres_url if store_backend(settings.profile) == "postgres" else None
        if pii_secret is None and settings.pii_secret is not None:
            pii_secret = settings.pii_secret.get_secret_value()
        return cls(
            settings.data_dir.resolve(),
            plugins_dir=settings.dataset_plugins,
            source_roots=settings.dataset_roots,
            postgres_url=None if url is None else url.get_secret_value(),
            pii_secret=pii_secret,
        )

    def register(
        self,
        source: str | Path,
        name: str | None = None,
        target: str | None = None,
        id_columns: list[str] | None = None,
        problem_type: str | None = None,
        column_types: dict[str, str] | None = None,
        description: str = "",
        tags: list[str] | None = None,
        features: bool = True,
        force: bool = False,
        progress: Progress | None = None,
        personal: dict[str, Any] | None = None,
        safe: list[str] | None = None,
    ) -> DatasetSpec:
        """Register a file or a Kaggle-style folder; the name defaults to the file or folder name.
        A new version unless the data is that of a version the dataset has (see `versions`).

        `personal` marks columns as personal data, column -> rule as in YAML (`pseudonymise`,
        `partial`, `drop`, `{partial: {keep_start: 0, keep_end: 4}}`): masked before anything is
        stored. `safe` names text columns the personal-data check leaves alone."""
        marks = self._marks(personal, safe)  # a bad rule is refused before anything is read
        located = self.locate(source)
        request = Request(
            name=normalise_name(name if name is not None else located.path.name.split(".")[0]),
            source_kind=located.kind,
            source=str(located.path),
            overrides=_overrides(target, id_columns, problem_type, column_types),
            description=description,
            tags=list(tags or []),
            features=features,
            force=force,
            **marks,
        )
        loaders = {f.split: file_loader(f) for f in located.files}
        return register(self.store, self.registry, request, loaders, self.plugins_dir, progress)

    def register_table(
        self,
        table: pa.Table,
        name: str,
        source_asset: str,
        target: str | None = None,
        id_columns: list[str] | None = None,
        problem_type: str | None = None,
        column_types: dict[str, str] | None = None,
        description: str = "",
        tags: list[str] | None = None,
        features: bool = True,
        force: bool = False,
        test: pa.Table | None = None,
        progress: Progress | None = None,
        personal: dict[str, Any] | None = None,
        safe: list[str] | None = None,
    ) -> DatasetSpec:
        """Register a platform asset's data, handed in as Arrow (`source_asset` is its key, e.g.
        `gold/ecommerce/customer_value`); `test`, when given, becomes the test split. `personal`
        and `safe` as for `register`."""
        request = Request(
            name=normalise_name(name),
            source_kind="asset",
            source=source_asset,
            overrides=_overrides(target, id_columns, problem_type, column_types),
            description=description,
            tags=list(tags or []),
            features=features,
            force=force,
            **self._marks(personal, safe),
        )
        loaders = {"train": arrow_loader(table, source_asset)}
        if test is not None:
            loaders["test"] = arrow_loader(test, f"{source_asset} (test)")
        return register(self.store, self.registry, request, loaders, self.plugins_dir, progress)

    def _marks(self, personal: dict[str, Any] | None, safe: list[str] | None) -> dict[str, Any]:
        """A request's personal columns' rules, its safe columns and the pseudonyms' key."""
        try:
            rules = parse_marks(personal or {}, "personal")
        except BadMark as error:
            raise DatasetError(str(error)) from None
        return {"personal": rules, "safe": list(safe or []), "pii_secret": self._pii_secret}

    def list(self, sort: str = "name", limit: int | None = None, tag: str | None = None) -> list[DatasetSpec]:
        if sort not in SORT_KEYS:
            raise DatasetError(f"sort key {sort!r} is not one of {', '.join(SORT_KEYS)}")
        specs = [s for s in self.registry.list() if tag is None or tag in s.tags]
        specs.sort(key=lambda s: str(getattr(s, sort) or ""))
        return specs if limit is None else specs[:limit]

    def locate(self, source: str | Path) -> Source:
        """A file or folder checked against the allowed folders (`source_roots`), nothing read yet."""
        return locate_source(source, self.source_roots)

    def spec(self, name: str, version: int | None = None) -> DatasetSpec:
        """The spec of the current version, or of `version`."""
        return self._version(name, version)[0]

    def versions(self, name: str) -> builtins.list[dict[str, Any]]:
        """Every version of a dataset, oldest first: `version`, `version_hash`, `registered_at`,
        `current`; empty when nothing is stored."""
        return self._versions(self.registry.load(name).name)

    def _versions(self, name: str) -> builtins.list[dict[str, Any]]:
        if not self.store.exists():
            return []
        with self.store.reading() as con:
            rows = versions.listed(con, name)
        keys = {
            "version": "version",
            "hash": "version_hash",
            "registered_at": "registered_at",
            "current": "current",
        }
        return [{shown: row[key] for key, shown in keys.items()} for row in rows]

    def info(self, name: str, version: int | None = None) -> dict[str, Any]:
        """The spec (of the current version, or of `version`) with the rows of every stored table
        (splits and features) and the dataset's versions."""
        spec, archived = self._version(name, version)
        return {
            **spec.to_dict(),
            "rows": self.store.tables(spec.name, archived),
            "versions": self._versions(spec.name),
        }

    def stats(self, name: str, version: int | None = None) -> dict[str, Any]:
        """Statistics per split, as computed at registration (see `stats.table_stats`)."""
        spec, archived = self._version(name, version)
        return self.store.meta(spec.name, "stats", archived)

    @overload
    def load(
        self,
        name: str,
        split: str = ...,
        columns: builtins.list[str] | None = ...,
        sample: int | None = ...,
        chunk_size: None = ...,
        features: bool = ...,
        version: int | None = ...,
    ) -> pd.DataFrame: ...

    @overload
    def load(
        self,
        name: str,
        split: str = ...,
        columns: builtins.list[str] | None = ...,
        sample: int | None = ...,
        *,
        chunk_size: int,
        features: bool = ...,
        version: int | None = ...,
    ) -> Generator[pd.DataFrame, None, None]: ...

    def load(
        self,
        name: str,
        split: str = "train",
        columns: builtins.list[str] | None = None,
        sample: int | None = None,
        chunk_size: int | None = None,
        features: bool = False,
        version: int | None = None,
    ) -> pd.DataFrame | Generator[pd.DataFrame, None, None]:
        """A split (or its features) as pandas; an iterator of frames of `chunk_size` rows when set.

        `sample` takes a reproducible random sample of that many rows (the same rows every call);
        `version` reads an earlier version (`spec.version`), the current one by default.
        """
        spec, archived = self._version(name, version)
        table = f"features_{split}" if features else split
        if chunk_size is not None:
            if sample is not None:
                raise DatasetError("sample and chunk_size cannot be combined; sample first, or walk all rows")
            return self.store.frames(spec.name, table, chunk_size, columns, archived)
        return self.store.frame(spec.name, table, columns, sample, archived)

    def featurize(self, name: str, rows: pa.Table, version: int | None = None) -> pa.Table:
        """New rows (a file to score, with the dataset's raw columns) as the dataset's features,
        computed with the transforms fitted on its train split at registration (of `version`,
        the current one by default) and its feature plugin, so a model trained on the features
        can score them."""
        from dataplatform.datasets.features import FittedFeatures, apply_features

        spec, archived = self._version(name, version)
        stored = self.store.meta(spec.name, "features", archived)
        if not stored:
            raise DatasetError(
                f"dataset '{spec.name}' was registered without features; register it with them"
            )
        fitted = FittedFeatures.from_dict(stored, self.store.fitted_frequencies(spec.name, archived))
        plugin = Path(stored["plugin"]) if stored.get("plugin") else None  # the one registration ran
        return apply_features(fitted, rows, spec.name, plugin)

    def check(self, name: str) -> builtins.list[DatasetCheck]:
        """The dataset's checks (ids unique, target in train, none in test, consistent columns)."""
        return check_dataset(self.store, self.registry.load(name))

    def export(
        self,
        name: str,
        destination: str | Path,
        fmt: str = "parquet",
        compression: str | None = None,
        tables: builtins.list[str] | None = None,
        metadata_only: bool = False,
        version: int | None = None,
    ) -> builtins.list[Path]:
        """Write the tables, spec and statistics of the current version, or of `version`, as files."""
        spec, archived = self._version(name, version)
        return export_dataset(
            self.store, spec, Path(destination), fmt, compression, tables, metadata_only, archived
        )

    def search(self, pattern: str, field: Field = "any") -> builtins.list[DatasetSpec]:
        return search(self.registry.list(), pattern, field)

    def update(
        self,
        name: str,
        description: str | None = None,
        tags: builtins.list[str] | None = None,
        target: str | None = None,
        id_columns: builtins.list[str] | None = None,
        problem_type: str | None = None,
    ) -> DatasetSpec:
        """Change a spec; a new target, ids or problem type rebuild statistics and features from the stored data."""
        spec = self.registry.load(name)
        if description is not None or tags is not None:
            spec = self.registry.update(
                spec.name,
                description=spec.description if description is None else description,
                tags=spec.tags if tags is None else list(tags),
            )
        if target is None and id_columns is None and problem_type is None:
            return spec
        kept = user_overrides(spec)
        overrides = Overrides(
            target=target if target is not None else kept.target,
            id_columns=id_columns if id_columns is not None else kept.id_columns,
            problem_type=problem_type if problem_type is not None else kept.problem_type,
            column_types=kept.column_types,
        )
        return rebuild(self.store, self.registry, spec, overrides, self.plugins_dir)

    def remove(self, name: str, dry_run: bool = False) -> Removal:
        """Remove the spec and the stored tables of every version; `dry_run` only says what would go."""
        spec_file = self.registry.path_for(name)
        normalised = normalise_name(name)
        if not spec_file.is_file():
            raise DatasetError(f"no dataset named '{normalised}'")
        kept = [v["version"] for v in self._versions(normalised)]
        if dry_run:
            tables = list(self.store.tables(normalised)) if self.store.exists() else []
            return Removal(normalised, spec_file, tables, kept, done=False)
        tables = self.store.drop(normalised) if self.store.exists() else []
        self.registry.remove(normalised)
        return Removal(normalised, spec_file, tables, kept, done=True)

    def split(
        self,
        name: str,
        time_column: str | None = None,
        folds: int = 1,
        test_fraction: float = 0.2,
        gap: int = 0,
        mode: Mode = "expanding",
        window: int | None = None,
    ) -> builtins.list[Fold]:
        """Time-ordered folds over the train split's rows (positions in `load(name)` order)."""
        spec = self.registry.load(name)
        if time_column is None:
            if len(spec.datetime_columns) != 1:
                found = ", ".join(spec.datetime_columns) or "none"
                raise DatasetError(
                    f"dataset '{spec.name}' needs a time column named (datetime columns: {found})"
                )
            time_column = spec.datetime_columns[0]
        elif time_column not in spec.datetime_columns:
            raise DatasetError(
                f"{time_column!r} is not a datetime column of '{spec.name}' "
                f"(datetime columns: {', '.join(spec.datetime_columns) or 'none'})"
            )
        times = self.store.frame(spec.name, "train", [time_column])[time_column].to_numpy()
        return time_folds(times, folds, test_fraction, gap, mode, window)

    def _version(self, name: str, version: int | None) -> tuple[DatasetSpec, int | None]:
        """The spec of `version` (the current one when None) and the number to read it by from
        the store (`store.archived_name`), None for the current version."""
        spec = self.registry.load(name)
        if version is None:
            return spec, None
        with self.store.reading() as con:
            return versions.resolve(con, spec, version)


def _overrides(
    target: str | None,
    id_columns: list[str] | None,
    problem_type: str | None,
    column_types: dict[str, str] | None,
) -> Overrides:
    return Overrides(
        target, None if id_columns is None else list(id_columns), problem_type, dict(column_types or {})
    )
