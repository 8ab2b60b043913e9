"""The checks a registered dataset must pass: unique ids, a target in every train row, no target in test,
train and test columns consistent, and no e-mail address or phone number in clear in any split.

Each is one query on the stored tables and returns a `DatasetCheck` (passed or not, a one-line
description, a few figures), so the Dagster asset checks only wrap these and the CLI or a test
can run them directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb

from dataplatform.datasets.detect import column_kinds
from dataplatform.datasets.spec import DatasetSpec, personal_data_check
from dataplatform.datasets.sql import CATALOG, qualified
from dataplatform.datasets.store import DatasetStore
from dataplatform.engine.identifiers import quote


@dataclass(frozen=True)
class DatasetCheck:
    name: str
    passed: bool
    description: str
    figures: dict[str, Any] = field(default_factory=dict)


def check_dataset(store: DatasetStore, spec: DatasetSpec) -> list[DatasetCheck]:
    """Every check that applies to the dataset: ids per split, the target in train and test, test's
    columns, and per split no personal data in clear."""
    with store.reading() as con:
        columns = {
            split: [
                c
                for (c,) in con.execute(
                    "SELECT column_name FROM duckdb_columns() "
                    "WHERE database_name = ? AND schema_name = ? AND table_name = ? ORDER BY column_index",
                    [CATALOG, spec.name, split],
                ).fetchall()
            ]
            for split in spec.splits
        }
        results = []
        for split in ("train", "test"):
            ids = [c for c in spec.id_columns if c in columns.get(split, [])]
            if ids:
                results.append(_ids_unique(con, spec, split, ids))
        if spec.target is not None:
            results.append(_target_not_null(con, spec))
        if "test" in columns:
            results += _test_against_train(spec, columns["train"], columns["test"])
        results += [_no_personal_data(con, spec, split) for split in spec.splits]
    return results


def _no_personal_data(con: duckdb.DuckDBPyConnection, spec: DatasetSpec, split: str) -> DatasetCheck:
    """No value of the split's text columns (but those declared `safe`) holds an e-mail address or
    is a phone number, by the patterns and SQL of silver's and gold's `no_personal_data`; marked
    columns are scanned too, so a partial mask that leaves an address readable is caught. Counts
    per column, never a value: those are what must not reach metadata."""
    from dataplatform.quality.evaluate import looks_personal
    from dataplatform.quality.specs import NoPersonalData

    table = qualified(spec.name, split)
    text = [c for c, kind in column_kinds(con, table).items() if kind == "string" and c not in spec.safe]
    patterns = NoPersonalData()
    counts = {}
    if text:
        found = con.execute(
            "SELECT "
            + ", ".join(f"count(*) FILTER (WHERE {looks_personal(c)})" for c in text)
            + f" FROM {table}",
            [patterns.email, patterns.phone] * len(text),
        ).fetchone()
        counts = dict(zip(text, found or (), strict=True))
    failing = {c: int(n) for c, n in counts.items() if n}
    return DatasetCheck(
        personal_data_check(split),
        not failing,
        "; ".join(
            f"{c}: {n} values look like an e-mail address or a phone number" for c, n in failing.items()
        )
        or f"no e-mail address or phone number in {len(text)} text columns of {split}",
        {"failing": failing, "scanned": text},
    )


def _ids_unique(
    con: duckdb.DuckDBPyConnection, spec: DatasetSpec, split: str, ids: list[str]
) -> DatasetCheck:
    key = ", ".join(quote(c) for c in ids)
    table = qualified(spec.name, split)
    rows, distinct, empty = con.execute(
        f"SELECT count(*), (SELECT count(*) FROM (SELECT DISTINCT {key} FROM {table})), "
        f"count(*) FILTER (WHERE {' OR '.join(f'{quote(c)} IS NULL' for c in ids)}) FROM {table}"
    ).fetchone() or (0, 0, 0)
    repeated = rows - distinct
    return DatasetCheck(
        f"{split}_id_unique",
        repeated == 0 and empty == 0,
        f"{', '.join(ids)} in {split}: {repeated} repeated and {empty} empty of {rows} rows",
        {"rows": rows, "repeated": repeated, "empty": empty},
    )


def _target_not_null(con: duckdb.DuckDBPyConnection, spec: DatasetSpec) -> DatasetCheck:
    target = quote(spec.target or "")
    rows, empty = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE {target} IS NULL) FROM {qualified(spec.name, 'train')}"
    ).fetchone() or (0, 0)
    return DatasetCheck(
        "train_target_not_null",
        empty == 0,
        f"target {spec.target} is empty in {empty} of {rows} train rows",
        {"rows": rows, "empty": empty},
    )


def _test_against_train(spec: DatasetSpec, train: list[str], test: list[str]) -> list[DatasetCheck]:
    expected = [c for c in train if c != spec.target]
    missing = [c for c in expected if c not in test]
    extra = [c for c in test if c not in train]
    results = []
    if spec.target is not None:
        has_target = spec.target in test
        results.append(
            DatasetCheck(
                "test_without_target",
                not has_target,
                f"test {'holds' if has_target else 'does not hold'} the target {spec.target}",
            )
        )
    return [
        *results,
        DatasetCheck(
            "train_test_columns_consistent",
            not missing and not extra,
            "test has every train column but the target, and no other"
            if not missing and not extra
            else f"test lacks {', '.join(missing) or 'nothing'}; test alone has {', '.join(extra) or 'nothing'}",
            {"missing": missing, "extra": extra},
        ),
    ]
