"""A day landed in chunks through Dagster: the chunk size changes how much is held at once,
never what lands, what silver keeps or what gold says."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from dataplatform.domains.ecommerce import generator as ecommerce
from platform_tests.conftest import DAY, small_settings
from platform_tests.integration.conftest import Platform, real_instance

PARTITION = DAY.isoformat()


def _day_through_gold(root: Path, chunk_rows: int) -> tuple[Platform, dict[str, pa.Table]]:
    root.mkdir()
    with real_instance(root) as instance:
        platform = Platform(small_settings(root, generate_chunk_rows=chunk_rows), instance)
        for job, partition in (("ecommerce_master", None), ("ecommerce_daily", PARTITION)):
            assert platform.run(job, partition).success, job
        landing = platform.instance.get_latest_materialization_event
        metadata = {
            name: landing(_key("landing", name)).asset_materialization.metadata
            for name in ("orders", "order_items", "defects")
        }
        tables = {
            path: platform.read(
                path, PARTITION, "order_date" if path.startswith("gold") else "partition_date"
            )
            for path in (
                "landing/ecommerce/orders",
                "landing/ecommerce/order_items",
                "landing/ecommerce/defects",
                "silver/ecommerce/orders",
                "silver/ecommerce/order_items_quarantine",
                "gold/ecommerce/daily_sales",
            )
        }
        return platform, {"metadata": metadata, **tables}


def _key(layer: str, name: str):
    import dagster as dg

    return dg.AssetKey([layer, "ecommerce", name])


def _sorted(table: pa.Table) -> pa.Table:
    keep = [c for c in table.column_names if not c.startswith("_")]  # no ingestion time or batch
    return table.select(keep).sort_by([(c, "ascending") for c in keep if c != "_quality_flags"])


def test_a_day_landed_a_piece_per_chunk_gives_the_same_layers_as_one_chunk(tmp_path, monkeypatch):
    monkeypatch.setattr(ecommerce, "PIECE_ORDERS", 40)  # ~12 pieces in the small day
    _, tiny = _day_through_gold(tmp_path / "tiny", chunk_rows=1)
    _, whole = _day_through_gold(tmp_path / "whole", chunk_rows=10**9)
    for path in tiny:
        if path == "metadata":
            continue
        assert tiny[path].num_rows > 0 or "quarantine" in path, path
        assert _sorted(tiny[path]).equals(_sorted(whole[path])), path
    # landing records every table's rows; the tables written after the generated one its figures
    for name, metadata in tiny["metadata"].items():
        assert metadata["dagster/row_count"].value == tiny[f"landing/ecommerce/{name}"].num_rows
    assert tiny["metadata"]["orders"]["rows_out"].value == tiny["landing/ecommerce/orders"].num_rows
    assert any(k.startswith("defects_") for k in tiny["metadata"]["defects"])
