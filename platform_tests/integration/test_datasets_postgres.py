"""The dataset store in PostgreSQL (the `postgres` profile): the same datasets as in DuckDB, all or nothing.

Each test gets a fresh database (`postgres_database`); without a server they skip, under CI=true
they fail (see conftest.py).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
import pytest
from sqlalchemy.engine import make_url

from dataplatform.datasets.client import DatasetClient
from dataplatform.datasets.errors import DatasetError
from dataplatform.settings import Settings

RNG = np.random.default_rng(8)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A Kaggle-style folder whose column names need quoting and whose times are text."""
    n = 300
    frame = pd.DataFrame(
        {
            "PassengerId": np.arange(1, n + 1),
            'Fare "paid"': RNG.gamma(2.0, 15.0, n).round(2),
            "Home port": RNG.choice(["S", "C", "Q"], n),
            "boarded": pd.date_range("2024-01-01", periods=n, freq="h").astype(str),
            "Survived": RNG.integers(0, 2, n),
        }
    )
    path = tmp_path / "titanic"
    path.mkdir()
    frame.iloc[:200].to_csv(path / "train.csv", index=False)
    frame.iloc[200:].drop(columns="Survived").to_csv(path / "test.csv", index=False)
    return path


@pytest.fixture
def database(postgres_database: str) -> str:
    """The test database's URL with a password in it (trust authentication ignores it), so the
    tests can see it never comes out."""
    return make_url(postgres_database).set(password="not-to-be-shown").render_as_string(hide_password=False)


def schemas(url: str) -> set[str]:
    """The database's own schemas, PostgreSQL's left out."""
    with psycopg.connect(url) as con:
        rows = con.execute(
            "SELECT schema_name FROM information_schema.schemata WHERE schema_name <> 'public' "
            "AND schema_name <> 'information_schema' AND schema_name NOT LIKE 'pg\\_%'"
        ).fetchall()
    return {name for (name,) in rows}


def tables(url: str, schema: str) -> set[str]:
    with psycopg.connect(url) as con:
        rows = con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", [schema]
        ).fetchall()
    return {name for (name,) in rows}


def test_a_dataset_in_postgres_is_the_dataset_in_duckdb(folder, database, tmp_path):
    in_postgres = DatasetClient(tmp_path / "pg", postgres_url=database)
    in_duckdb = DatasetClient(tmp_path / "duck")
    spec = in_postgres.register(folder, name="titanic")
    assert spec == replace(in_duckdb.register(folder, name="titanic"), registered_at=spec.registered_at)
    assert tables(database, "titanic") == {
        "train",
        "test",
        "features_train",
        "features_test",
        "_meta",
        "_frequencies",
        "_versions",
    }
    assert spec.column_types["boarded"] == "datetime"
    for split in ("train", "test"):
        for features in (False, True):
            pd.testing.assert_frame_equal(
                in_postgres.load("titanic", split=split, features=features),
                in_duckdb.load("titanic", split=split, features=features),
            )
    assert in_postgres.stats("titanic") == in_duckdb.stats("titanic")
    assert [c.passed for c in in_postgres.check("titanic")] == [True] * 7  # 5, and no_personal_data per split
    assert in_postgres.info("titanic")["rows"]["features_test"] == 100


def test_a_failed_registration_leaves_postgres_as_it_was(folder, database, tmp_path):
    client = DatasetClient(tmp_path / "data", plugins_dir=tmp_path / "plugins", postgres_url=database)
    client.register(folder, name="titanic")
    before = client.load("titanic")
    (tmp_path / "plugins").mkdir()
    for name in ("titanic", "fresh"):
        (tmp_path / "plugins" / f"{name}.py").write_text("def features(frame):\n    raise ValueError('no')\n")
    with pytest.raises(DatasetError, match=r"feature plugin .* failed: ValueError: no"):
        client.register(folder, name="titanic", target='Fare "paid"', force=True)
    pd.testing.assert_frame_equal(client.load("titanic"), before)
    assert client.spec("titanic").target == "Survived"
    with pytest.raises(DatasetError, match="feature plugin"):
        client.register(folder, name="fresh")
    assert schemas(database) == {"titanic"}
    assert not client.registry.path_for("fresh").exists()


def test_a_plugin_adds_its_columns_and_removal_drops_the_schema(folder, database, tmp_path):
    client = DatasetClient(tmp_path / "data", plugins_dir=tmp_path / "plugins", postgres_url=database)
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "titanic.py").write_text(
        "import pandas as pd\n"
        "def features(frame):\n"
        "    return pd.DataFrame({'night': frame['boarded'].dt.hour < 6})\n"
    )
    client.register(folder, name="titanic")
    features = client.load("titanic", features=True)
    train = client.load("titanic")
    assert features["night"].tolist() == (train["boarded"].dt.hour < 6).tolist()
    assert client.remove("titanic").tables == ["features_test", "features_train", "test", "train"]
    assert schemas(database) == set()


def test_the_postgres_profile_puts_datasets_in_postgres_and_never_shows_the_password(
    folder, database, tmp_path
):
    settings = Settings(
        data_dir=tmp_path / "data", profile="postgres", postgres_url=database, datasets_root=str(tmp_path)
    )
    client = DatasetClient.for_settings(settings)
    client.register(folder, name="titanic")
    assert client.store.backend == "postgres" and schemas(database) == {"titanic"}
    url = make_url(database)
    assert client.store.location == f"postgresql://{url.host}:{url.port or 5432}/{url.database}"
    spec_text = client.registry.path_for("titanic").read_text()
    written = client.export("titanic", tmp_path / "out", metadata_only=True)
    for text in [spec_text, *(p.read_text() for p in written)]:
        assert "not-to-be-shown" not in text and database not in text
    assert DatasetClient.for_settings(Settings(data_dir=tmp_path / "data")).store.backend == "duckdb"


def test_an_unreachable_server_is_one_clear_error_without_the_password(folder, tmp_path):
    client = DatasetClient(
        tmp_path / "data", postgres_url="postgresql://someone:not-to-be-shown@127.0.0.1:1/datasets"
    )
    with pytest.raises(DatasetError) as raised:
        client.register(folder, name="titanic")
    message = str(raised.value)
    assert message.startswith(
        "cannot open the dataset store in PostgreSQL at postgresql://127.0.0.1:1/datasets"
    )
    assert "not-to-be-shown" not in message and "someone" not in message
    assert not client.registry.path_for("titanic").exists()
