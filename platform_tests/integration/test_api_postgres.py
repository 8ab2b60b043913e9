"""Under the postgres profile the API reads gold from PostgreSQL itself (attached read-only), with
the same typed filters, pages and problems; an unreachable server is a 503, never a 500."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import dagster as dg
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from dataplatform.api.app import create_app
from dataplatform.api.settings import ApiSettings
from dataplatform.defs.state import PlatformState
from dataplatform.storage import TableName, store_for_layer
from platform_tests.conftest import small_settings

SALES = pa.table(
    {
        "order_date": pa.array([date(2026, 3, 10)] * 3 + [date(2026, 3, 11)], pa.date32()),
        "currency": ["EUR", "USD", "EUR", "EUR"],
        "channel": ["web", "web", "store", "web"],
        "status": ["placed"] * 4,
        "orders": pa.array([3, 5, 7, 11], pa.int64()),
        "revenue": pa.array(
            [Decimal("10.50"), Decimal("20.00"), Decimal("1.25"), Decimal("4.00")], pa.decimal128(14, 2)
        ),
    }
)


@pytest.fixture(scope="module")
def definitions(tmp_path_factory, postgres_url) -> dg.Definitions:
    """The code location under the postgres profile: it names the gold tables the API serves."""
    from dataplatform.defs import build_definitions

    root = tmp_path_factory.mktemp("definitions")
    return build_definitions(small_settings(root, profile="postgres", postgres_url=postgres_url))


@pytest.fixture
def client(tmp_path, postgres_database, definitions):
    settings = small_settings(tmp_path, profile="postgres", postgres_url=postgres_database)
    store_for_layer(settings, "gold").write(TableName("gold", "ecommerce", "daily_sales"), SALES)
    (tmp_path / "instance").mkdir()
    with dg.DagsterInstance.local_temp(tempdir=str(tmp_path / "instance")) as instance:
        app = create_app(
            settings, ApiSettings(require_keys=False), PlatformState(settings, instance, definitions)
        )
        yield TestClient(app)
    assert not (settings.data_dir / "warehouse.duckdb").exists()


def test_gold_rows_filters_and_aggregates_come_from_postgres(client):
    page = client.get(
        "/gold/ecommerce/daily_sales",
        params={"filter": ["currency:eq:EUR", "order_date:le:2026-03-10"], "limit": 1},
    ).json()
    assert page["rows"] == [
        {
            "order_date": "2026-03-10",
            "currency": "EUR",
            "channel": "store",
            "status": "placed",
            "orders": 7,
            "revenue": 1.25,
        }
    ]
    rest = client.get(
        "/gold/ecommerce/daily_sales",
        params={
            "filter": ["currency:eq:EUR", "order_date:le:2026-03-10"],
            "limit": 1,
            "cursor": page["next_cursor"],
        },
    ).json()
    assert [r["orders"] for r in rest["rows"]] == [3] and rest["next_cursor"] is None
    totals = client.get(
        "/gold/ecommerce/daily_sales/aggregate", params={"group_by": "currency", "metric": "sum:orders"}
    ).json()["groups"]
    assert totals == [{"currency": "EUR", "sum_orders": 21}, {"currency": "USD", "sum_orders": 5}]
    listed = {(t["domain"], t["table"]): t for t in client.get("/gold").json()}
    assert listed["ecommerce", "daily_sales"]["rows"] == 4
    assert client.get("/ready").json()["components"]["gold"] == "1 gold tables in PostgreSQL"


def test_injection_through_postgres_is_refused_or_compared_as_text(client):
    assert (
        client.get(
            "/gold/ecommerce/daily_sales", params={"columns": 'currency"; DROP TABLE x; --'}
        ).status_code
        == 400
    )
    quoted = client.get("/gold/ecommerce/daily_sales", params={"filter": "currency:eq:EUR' OR '1'='1"})
    assert quoted.status_code == 200 and quoted.json()["rows"] == []
    assert len(client.get("/gold/ecommerce/daily_sales").json()["rows"]) == 4


def test_a_table_not_written_yet_and_an_unreachable_server_are_503(tmp_path, client, definitions):
    missing = client.get("/gold/market/daily_bars")
    assert missing.status_code == 503 and missing.headers["Retry-After"]
    away = small_settings(tmp_path, profile="postgres", postgres_url="postgresql://nobody@127.0.0.1:1/none")
    app = create_app(away, ApiSettings(require_keys=False), PlatformState(away, definitions=definitions))
    response = TestClient(app).get("/gold/ecommerce/daily_sales")
    assert response.status_code == 503 and response.headers["content-type"] == "application/problem+json"
    assert "nobody" not in response.text
