"""`dataplatform generate`'s writers, each read back by a reader that is not the platform's.

Parquet and DuckLake are read with DuckDB, Delta with `deltalake`, Iceberg with pyiceberg; every
table must equal what the generators produce for the same request, row for row.
"""

from __future__ import annotations

import os
import socket
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from dataplatform.domains import domain as domain_spec
from dataplatform.engine.extensions import extension_path
from dataplatform.engine.identifiers import string_literal
from dataplatform.generate.export import GenerateError, GenerateRequest, export, parts, tables_of
from dataplatform.generate.writers import WRITERS, writer_for
from dataplatform.settings import Settings

SMALL = {
    "ecommerce": {"customers": 300, "products": 40, "orders_per_day": 200},
    "market": {"symbols": 4, "bar_minutes": 30},
    "sensors": {"devices": 6, "reading_seconds": 3600},
    "weather": {"stations": 3},
}


def request(domain: str, start: str, end: str, **kwargs) -> GenerateRequest:
    return GenerateRequest(
        domain=domain,
        start=date.fromisoformat(start),
        end=date.fromisoformat(end),
        knobs=SMALL[domain],
        **kwargs,
    )


def expected(req: GenerateRequest) -> dict[str, pa.Table]:
    """What the generators produce for `req`, table by table, as the writers store it."""
    from dataplatform.storage.schema import normalise

    chunks: dict[str, list[pa.Table]] = {}
    for part in parts(req, Settings()):
        chunks.setdefault(part.table, []).append(part.data.cast(normalise(part.data.schema)))
    return {name: pa.concat_tables(tables) for name, tables in chunks.items()}


def read_back(writer: str, root: Path, domain: str, table: str) -> pa.Table:
    if writer == "parquet":
        files = string_literal(f"{root}/{domain}/{table}/**/*.parquet")
        with duckdb.connect() as con:
            con.execute("SET TimeZone = 'UTC'")
            return con.execute(
                f"SELECT * FROM read_parquet({files}, hive_partitioning = true)"
            ).to_arrow_table()
    if writer == "delta":
        from deltalake import DeltaTable

        return DeltaTable(str(root / domain / table)).to_pyarrow_table()
    if writer == "iceberg":
        from pyiceberg.catalog.sql import SqlCatalog

        catalog = SqlCatalog("dataplatform", uri=f"sqlite:///{root / 'catalog.db'}", warehouse=root.as_uri())
        return catalog.load_table((domain, table)).scan().to_arrow()
    if writer == "ducklake":
        with duckdb.connect() as con:
            con.execute(f"LOAD {string_literal(str(extension_path('ducklake')))}")
            con.execute("SET TimeZone = 'UTC'")
            con.execute(f"ATTACH {string_literal(f'ducklake:{root}/metadata.ducklake')} AS lake (READ_ONLY)")
            return con.execute(f'SELECT * FROM lake."{domain}"."{table}"').to_arrow_table()
    raise AssertionError(writer)


def canonical(table: pa.Table, names: list[str]) -> pa.Table:
    """Columns in `names` order with one spelling per type, rows sorted: what equality compares."""
    columns = []
    for name in names:
        column = table.column(name)
        kind = column.type
        if pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
            column = column.cast(pa.string())
        elif pa.types.is_timestamp(kind):
            column = column.cast(pa.timestamp("us", "UTC" if kind.tz else None))
        columns.append(column)
    result = pa.Table.from_arrays(columns, names=names)
    return result.sort_by([(name, "ascending") for name in names])


def assert_same(got: pa.Table, want: pa.Table, label: str) -> None:
    assert sorted(got.column_names) == sorted(want.column_names), label
    assert got.num_rows == want.num_rows, f"{label}: {got.num_rows} rows stored, {want.num_rows} generated"
    a, b = canonical(got, want.column_names), canonical(want, want.column_names)
    for name in want.column_names:
        assert a.column(name).equals(b.column(name)), f"{label}: column {name} differs"


def assert_output_equals(writer: str, root: Path, req: GenerateRequest) -> None:
    for table, want in expected(req).items():
        assert_same(read_back(writer, root, req.domain, table), want, f"{writer} {req.domain}.{table}")


def run(writer: str, root: Path, req: GenerateRequest):
    return export(req, Settings(), writer_for(writer, str(root)))


@pytest.mark.parametrize("writer", list(WRITERS))
@pytest.mark.parametrize("domain", ["ecommerce", "market"])
def test_every_table_reads_back_equal_to_what_was_generated(tmp_path, writer, domain):
    req = request(domain, "2025-01-02", "2025-01-04")  # market: Thursday, Friday and a Saturday
    progress = run(writer, tmp_path, req)
    assert progress.done == 4  # master data and three days
    assert set(progress.tables) == set(sum(tables_of(domain_spec(domain)), ()))
    assert_output_equals(writer, tmp_path, req)


@pytest.mark.parametrize("domain", ["sensors", "weather"])
def test_sensors_and_weather_read_back_equal_through_parquet(tmp_path, domain):
    req = request(domain, "2025-03-30", "2025-03-31")
    run("parquet", tmp_path, req)
    assert_output_equals("parquet", tmp_path, req)


@pytest.mark.parametrize("writer", list(WRITERS))
def test_rerunning_a_day_replaces_it_and_leaves_the_others(tmp_path, writer):
    """Also: a range written in pieces, in any order, equals the range written at once."""
    run(writer, tmp_path, request("ecommerce", "2025-01-03", "2025-01-03"))
    run(writer, tmp_path, request("ecommerce", "2025-01-01", "2025-01-02"))
    run(writer, tmp_path, request("ecommerce", "2025-01-02", "2025-01-02", tables=("orders", "defects")))
    assert_output_equals(writer, tmp_path, request("ecommerce", "2025-01-01", "2025-01-03"))


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in root.rglob("*")
        if p.is_file()
    }


@pytest.mark.parametrize("writer", list(WRITERS))
def test_an_output_holding_other_data_is_refused_with_nothing_written(tmp_path, writer):
    other = writer_for(writer, str(tmp_path))
    other.write(
        "ecommerce", "orders", pa.table({"order_id": pa.array(["A-1"]), "note": ["not generated"]}), None
    )
    before = snapshot(tmp_path)

    with pytest.raises(GenerateError, match=r"does not match ecommerce\.orders"):
        run(writer, tmp_path, request("ecommerce", "2025-01-01", "2025-01-02"))

    assert snapshot(tmp_path) == before


def test_a_folder_that_is_not_a_delta_table_is_refused(tmp_path):
    stray = tmp_path / "ecommerce" / "orders"
    stray.mkdir(parents=True)
    (stray / "notes.txt").write_text("mine")
    with pytest.raises(GenerateError, match="holds files that the delta output does not know"):
        run("delta", tmp_path, request("ecommerce", "2025-01-01", "2025-01-01"))
    assert snapshot(tmp_path) == {
        "ecommerce/orders/notes.txt": snapshot(tmp_path)["ecommerce/orders/notes.txt"]
    }


@pytest.mark.parametrize("writer", ["iceberg", "ducklake"])
def test_catalog_writers_refuse_object_storage_other_than_s3(writer):
    with pytest.raises(GenerateError, match="writes to a local folder or to s3://bucket/prefix"):
        writer_for(writer, "gs://bucket/out")


def test_unknown_writer_names_the_known_ones():
    with pytest.raises(GenerateError, match="unknown writer 'csv'; known: parquet, delta, iceberg, ducklake"):
        writer_for("csv", "out")


# -- object storage: an S3-compatible server (moto's) on loopback --------------------------------


@pytest.fixture
def s3_bucket(monkeypatch):
    moto_server = pytest.importorskip("moto.server", reason="moto[server] is a dev dependency")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ALLOW_HTTP": "true",
    }.items():
        monkeypatch.setenv(name, value)
    import boto3

    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="lake")
    yield "s3://lake"
    server.stop()


@pytest.mark.parametrize("writer", ["parquet", "delta"])
def test_parquet_and_delta_write_to_s3_compatible_storage(s3_bucket, writer):
    req = request("ecommerce", "2025-01-01", "2025-01-02", tables=("customers", "orders"))
    output = f"{s3_bucket}/generated-{writer}"
    export(req, Settings(), writer_for(writer, output))

    want = expected(req)
    for table in ("customers", "orders"):
        if writer == "delta":
            from deltalake import DeltaTable

            got = DeltaTable(f"{output}/ecommerce/{table}").to_pyarrow_table()
        else:
            import pyarrow.dataset as ds
            import s3fs

            fs = s3fs.S3FileSystem(endpoint_url=os.environ["AWS_ENDPOINT_URL"])
            got = ds.dataset(
                f"lake/generated-parquet/ecommerce/{table}", filesystem=fs, partitioning="hive"
            ).to_table()
            if "partition_date" in got.column_names:
                got = got.set_column(
                    got.column_names.index("partition_date"),
                    "partition_date",
                    pc.cast(pc.cast(got.column("partition_date"), pa.string()), pa.date32()),
                )
        assert_same(got, want[table], f"{writer} on S3: {table}")
