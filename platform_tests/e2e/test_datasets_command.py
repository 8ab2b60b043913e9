"""`dataplatform datasets` as a user runs it: register, look, find, load, export, split, update, remove,
versions, and mistakes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import yaml

from platform_tests.e2e.conftest import BIN, PROJECT, run

CLI = [str(BIN / "dataplatform"), "datasets"]


@pytest.fixture
def user_env(user_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The user's environment, with the test's folder as the one datasets may be registered from."""
    return {**user_env, "DATAPLATFORM_DATASETS_ROOT": str(tmp_path)}


def datasets(env: dict[str, str], *arguments: str, stdin: str | None = None):
    if stdin is None:
        return run([*CLI, *arguments], env)
    import subprocess

    from platform_tests.e2e.conftest import PROJECT

    return subprocess.run(
        [*CLI, *arguments], env=env, cwd=PROJECT, capture_output=True, text=True, input=stdin, timeout=120
    )


def loans_folder(root: Path) -> Path:
    """A Kaggle-style folder: train with a 3-class target and an application date, test without it."""
    rng = np.random.default_rng(11)
    folder = root / "loans"
    folder.mkdir()
    n = 240
    train = pd.DataFrame(
        {
            "loan_id": np.arange(1, n + 1),
            "applied_on": pd.date_range("2025-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
            "amount": np.round(rng.uniform(500, 20_000, n), 2),
            "region": rng.choice(["north", "south", "east"], n),
            "grade": rng.integers(0, 3, n),
        }
    )
    train.to_csv(folder / "train.csv", index=False)
    test = train.drop(columns="grade").head(60).assign(loan_id=np.arange(1001, 1061))
    test.to_csv(folder / "test.csv", index=False)
    pd.DataFrame({"loan_id": test["loan_id"], "grade": 0}).to_csv(
        folder / "sample_submission.csv", index=False
    )
    return folder


def one_line_error(result) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_a_dataset_from_registration_to_removal(user_env, tmp_path):
    folder = loans_folder(tmp_path)
    registered = datasets(
        user_env,
        "register",
        str(folder),
        "--tag",
        "credit",
        "--description",
        "Loan grades",
        "--format",
        "json",
    )
    assert registered.returncode == 0, registered.stderr
    spec = json.loads(registered.stdout)
    assert (spec["name"], spec["id_columns"], spec["target"]) == ("loans", ["loan_id"], "grade")
    assert (spec["problem_type"], spec["class_count"]) == ("multiclass", 3)
    assert spec["column_types"]["applied_on"] == "datetime"
    assert spec["rows"]["train"] == 240 and spec["rows"]["test"] == 60 and spec["rows"]["features_test"] == 60
    registry = Path(user_env["DATAPLATFORM_DATA_DIR"]) / "datasets" / "registry"
    assert yaml.safe_load((registry / "loans.yaml").read_text())["target"] == "grade"

    info = json.loads(datasets(user_env, "info", "LOANS", "--format", "json").stdout)  # names normalised
    assert info["rows"]["sample_submission"] == 60
    listed = json.loads(datasets(user_env, "list", "--tag", "credit", "--format", "json").stdout)
    assert [(d["name"], d["rows"]["train"]) for d in listed["datasets"]] == [("loans", 240)]
    found = json.loads(datasets(user_env, "search", "lo?ns", "--format", "json").stdout)
    assert [d["name"] for d in found["datasets"]] == ["loans"]

    figures_file = tmp_path / "loans_stats.yaml"
    shown = datasets(user_env, "stats", "loans", "--export", str(figures_file), "--format", "json")
    figures = yaml.safe_load(figures_file.read_text())
    amount = pd.read_csv(folder / "train.csv")["amount"]
    assert figures["train"]["column_stats"]["amount"]["mean"] == pytest.approx(amount.mean())
    assert figures["train"]["column_stats"]["amount"]["quantiles"]["0.5"] == pytest.approx(amount.median())
    assert "quantiles" not in json.loads(shown.stdout)["train"]["column_stats"]["amount"]  # only with --full

    out = tmp_path / "out"
    exported = datasets(
        user_env, "export", "loans", str(out), "--to", "csv", "--compression", "gzip", "--table", "train"
    )
    assert exported.returncode == 0, exported.stderr
    back = pd.read_csv(out / "loans" / "train.csv.gz")
    original = pd.read_csv(folder / "train.csv")
    assert back["loan_id"].tolist() == original["loan_id"].tolist()
    assert back["amount"].tolist() == original["amount"].tolist()

    folds = datasets(user_env, "split", "loans", "--folds", "3", "--gap", "5", "--format", "json")
    summaries = json.loads(folds.stdout)["folds"]
    assert [f["test_rows"] for f in summaries] == [60, 60, 60]
    assert [f["train_rows"] for f in summaries] == [
        55,
        115,
        175,
    ]  # expanding, 5 rows left out before each test
    assert all(f["train_time"][1] < f["test_time"][0] for f in summaries)

    updated = datasets(user_env, "update", "loans", "--tag", "credit,risk", "--format", "json")
    assert json.loads(updated.stdout)["tags"] == ["credit", "risk"]

    dry = datasets(user_env, "remove", "loans", "--dry-run")
    assert "would remove loans" in dry.stdout and "versions 1" in dry.stdout
    assert (registry / "loans.yaml").exists()
    declined = datasets(user_env, "remove", "loans", stdin="n\n")
    assert one_line_error(declined).endswith("loans not removed: answer y to confirm, or pass --force")
    assert (registry / "loans.yaml").exists()
    removed = datasets(user_env, "remove", "loans", "--force", "--format", "json")
    assert json.loads(removed.stdout)["removed"] is True
    assert not (registry / "loans.yaml").exists()
    gone = datasets(user_env, "info", "loans")
    assert "no dataset named 'loans' (registered: none)" in one_line_error(gone)


def test_register_from_a_platform_asset_reads_it_through_its_layers_store(user_env):
    from dataplatform.storage import TableName, open_store

    data_dir = Path(user_env["DATAPLATFORM_DATA_DIR"])
    customers = pa.table(
        {
            "customer_id": pa.array(range(1, 101), pa.int64()),
            "country": pa.array(["DE", "FR", "US", "JP"] * 25),
            "orders": pa.array([i % 7 for i in range(100)], pa.int64()),
            "revenue_usd": pa.array([round(i * 13.7, 2) for i in range(100)]),
        }
    )
    open_store("duckdb", data_dir).write(TableName("gold", "ecommerce", "customer_value"), customers)
    result = datasets(
        user_env,
        "register",
        "--from-asset",
        "gold/ecommerce/customer_value",
        "--target",
        "revenue_usd",
        "--no-features",
        "--format",
        "json",
    )
    assert result.returncode == 0, result.stderr
    spec = json.loads(result.stdout)
    assert (spec["name"], spec["source_kind"], spec["source"]) == (
        "customer_value",
        "asset",
        "gold/ecommerce/customer_value",
    )
    assert (spec["target"], spec["problem_type"], spec["id_columns"]) == (
        "revenue_usd",
        "regression",
        ["customer_id"],
    )
    assert spec["rows"] == {"train": 100}  # --no-features: no feature table


def test_register_from_a_drop_folder_reference_table(user_env):
    """`reference/<table>` is the asset key of a drop-folder table, stored in Delta as reference/files/<table>."""
    from dataplatform.ingest.service import reference_table
    from dataplatform.storage import open_store

    data_dir = Path(user_env["DATAPLATFORM_DATA_DIR"])
    rates = pa.table(
        {
            "currency": pa.array(["EUR", "GBP", "JPY", "CHF"] * 10),
            "day": pa.array(list(range(40)), pa.int64()),
            "rate": pa.array([1.0 + i / 100 for i in range(40)]),
        }
    )
    open_store("delta", data_dir).write(reference_table("currency_rates"), rates)
    result = datasets(
        user_env,
        "register",
        "--from-asset",
        "reference/currency_rates/",
        "--target",
        "rate",
        "--format",
        "json",
    )
    assert result.returncode == 0, result.stderr
    spec = json.loads(result.stdout)
    assert (spec["name"], spec["source_kind"], spec["source"]) == (
        "currency_rates",
        "asset",
        "reference/currency_rates",
    )
    assert spec["problem_type"] == "regression" and spec["rows"]["train"] == 40


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["{csv}", "--name", "bad name!"], "dataset name 'bad name!' contains"),
        (["{csv}", "--name", "../escape"], "contains a path"),
        (["{folder}/missing.csv"], "missing.csv: no such file or folder"),
        (["{folder}/notes.txt"], "notes.txt"),
        (["{csv}", "--target", "nope"], "target 'nope' is not a column"),
        (["{folder}/empty.csv"], "the file has a header but no rows"),
        (["--from-asset", "gold/ecommerce/customer_value"], "has not been materialised yet"),
        (
            ["--from-asset", "reference/currency_rates"],
            "asset reference/currency_rates has not been materialised",
        ),
        (["--from-asset", "reference/files/currency_rates"], "nor reference/<table>"),
        (["--from-asset", "gold/customer_value"], "is neither layer/domain/table"),
    ],
)
def test_a_mistake_is_one_line_and_registers_nothing(user_env, tmp_path, arguments, message):
    (tmp_path / "people.csv").write_text("person_id,age,label\n1,30,0\n2,40,1\n3,50,1\n")
    (tmp_path / "empty.csv").write_text("person_id,age,label\n")
    (tmp_path / "notes.txt").write_text("not a table\n")
    values = {"csv": str(tmp_path / "people.csv"), "folder": str(tmp_path)}
    result = datasets(user_env, "register", *(a.format(**values) for a in arguments))
    assert message in one_line_error(result)
    registry = Path(user_env["DATAPLATFORM_DATA_DIR"]) / "datasets" / "registry"
    assert not list(registry.glob("*.yaml")) if registry.exists() else True


def test_registering_a_name_again_needs_force_and_keeps_the_first(user_env, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("person_id,age,label\n1,30,0\n2,40,1\n3,50,1\n")
    assert datasets(user_env, "register", str(path), "--description", "first").returncode == 0
    again = datasets(user_env, "register", str(path), "--description", "second")
    assert "already registered" in one_line_error(again)
    spec_file = Path(user_env["DATAPLATFORM_DATA_DIR"]) / "datasets" / "registry" / "people.yaml"
    assert yaml.safe_load(spec_file.read_text())["description"] == "first"
    forced = datasets(
        user_env, "register", str(path), "--description", "second", "--force", "--format", "json"
    )
    assert json.loads(forced.stdout)["description"] == "second"
    assert yaml.safe_load(spec_file.read_text())["description"] == "second"


def test_feature_plugins_come_from_the_configured_folder(user_env, tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "loans.py").write_text(
        "import pandas\n\n\ndef features(frame):\n    return pandas.DataFrame({'amount_k': frame['amount'] / 1000})\n"
    )
    user_env["DATAPLATFORM_DATASET_PLUGINS_DIR"] = str(plugins)
    registered = datasets(user_env, "register", str(loans_folder(tmp_path)))
    assert registered.returncode == 0, registered.stderr
    from dataplatform.datasets.client import DatasetClient

    client = DatasetClient(Path(user_env["DATAPLATFORM_DATA_DIR"]))
    train, features = client.load("loans"), client.load("loans", features=True)
    assert np.allclose(features["amount_k"], train["amount"] / 1000)


def test_versions_are_read_by_number_and_an_unknown_one_is_one_line(user_env, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("person_id,age,member\n1,30,Yes\n2,40,No\n3,50,Yes\n")
    assert datasets(user_env, "register", str(path)).returncode == 0
    path.write_text("person_id,age,member\n1,30,Yes\n2,40,No\n3,50,Yes\n4,60,No\n")
    again = datasets(user_env, "register", str(path), "--force", "--format", "json")
    current = json.loads(again.stdout)
    assert current["version"] == 2 and current["rows"]["train"] == 4
    assert [(v["version"], v["current"]) for v in current["versions"]] == [(1, False), (2, True)]

    first = json.loads(datasets(user_env, "info", "people", "--version", "1", "--format", "json").stdout)
    assert (first["version"], first["rows"]["train"]) == (1, 3)
    assert first["version_hash"] == current["versions"][0]["version_hash"] != current["version_hash"]
    shown = datasets(user_env, "info", "people")
    assert "2 of 1, 2 (hash " in shown.stdout

    loaded = datasets(user_env, "load", "people", "--version", "1", "--format", "json")
    assert json.loads(loaded.stdout)["rows"] == [
        {"person_id": 1, "age": 30, "member": "Yes"},  # the labels as written, not true/false
        {"person_id": 2, "age": 40, "member": "No"},
        {"person_id": 3, "age": 50, "member": "Yes"},
    ]
    head = json.loads(datasets(user_env, "load", "people", "--limit", "2", "--format", "json").stdout)
    assert [r["person_id"] for r in head["rows"]] == [1, 2]
    table = datasets(user_env, "load", "people", "--column", "member", "--features")
    assert table.returncode == 0 and "Yes" in table.stdout

    out = tmp_path / "out"
    assert datasets(user_env, "export", "people", str(out), "--version", "1", "--to", "csv").returncode == 0
    assert len(pd.read_csv(out / "people" / "train.csv")) == 3
    assert yaml.safe_load((out / "people" / "people.yaml").read_text())["version"] == 1

    for command in (["info"], ["load"], ["stats"], ["export", "people", str(out)]):
        arguments = [*command, "people"] if len(command) == 1 else command
        unknown = datasets(user_env, *arguments, "--version", "7")
        assert one_line_error(unknown).endswith("dataset 'people' has no version 7 (versions: 1, 2)")

    removed = datasets(user_env, "remove", "people", "--force", "--format", "json")
    assert json.loads(removed.stdout)["versions"] == [1, 2]


def test_files_outside_the_allowed_folders_are_refused_before_anything_is_read(
    user_env, tmp_path, tmp_path_factory
):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (elsewhere / "secret.csv").write_text("id,value\n1,2\n")
    (tmp_path / "link.csv").symlink_to(elsewhere / "secret.csv")
    (tmp_path / "linked").symlink_to(elsewhere, target_is_directory=True)
    for path in (tmp_path / "link.csv", tmp_path / "linked", elsewhere / "secret.csv"):
        refused = one_line_error(datasets(user_env, "register", str(path)))
        assert f"is outside the folders datasets may be registered from ({tmp_path})" in refused

    defaults = {k: v for k, v in user_env.items() if k != "DATAPLATFORM_DATASETS_ROOT"}
    data_dir = Path(defaults["DATAPLATFORM_DATA_DIR"])
    etc = one_line_error(datasets(defaults, "register", "/etc"))  # not listed: refused before reading
    assert etc == (
        f"error: /etc is outside the folders datasets may be registered from ({Path.home()}, "
        f"{PROJECT}, {data_dir}); move it into one of them or name its folder in DATAPLATFORM_DATASETS_ROOT"
    )
    (data_dir / "inbox").mkdir(parents=True)
    (data_dir / "inbox" / "people.csv").write_text("person_id,age,label\n1,30,0\n2,40,1\n3,50,1\n")
    inside = datasets(defaults, "register", str(data_dir / "inbox" / "people.csv"))  # the data folder is one
    assert inside.returncode == 0, inside.stderr
    registry = data_dir / "datasets" / "registry"
    assert [p.name for p in registry.glob("*.yaml")] == ["people.yaml"]


def test_personal_columns_marked_on_the_command_line_never_reach_an_export_in_clear(user_env, tmp_path):
    from platform_tests.integration.test_datasets_personal_data import customers
    from platform_tests.integration.test_reference_personal_data import EMAIL, SECRET

    customers().assign(support="help@shop.example").to_csv(tmp_path / "shop.csv", index=False)
    env = {**user_env, "DATAPLATFORM_PII_SECRET": SECRET}
    marks = ["--personal", "email=pseudonymise", "--personal", "address=drop", "--safe", "support"]
    bad = datasets(env, "register", str(tmp_path / "shop.csv"), "--target", "churned", "--personal", "email")
    assert bad.returncode == 1 and len(bad.stderr.strip().splitlines()) == 1
    assert "--personal 'email' is not column=value" in bad.stderr
    registered = datasets(env, "register", str(tmp_path / "shop.csv"), "--target", "churned", *marks)
    assert registered.returncode == 0, registered.stderr
    assert SECRET not in registered.stdout + registered.stderr
    out = tmp_path / "out"
    assert datasets(env, "export", "shop", str(out), "--to", "csv").returncode == 0
    exported = "".join(path.read_text() for path in sorted(out.rglob("*.csv")))
    assert "person1@example.com" not in exported and "Main Street" not in exported
    assert {m.group(0) for m in EMAIL.finditer(exported)} == {"help@shop.example"}  # declared safe
