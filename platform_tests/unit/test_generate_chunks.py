"""A day generated in chunks: the same rows as the whole day, one chunk in memory at a time,
duplicates that cross chunks recorded, and the delivery that lands it table by table."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from dataplatform.domains.ecommerce import generator as ecommerce
from dataplatform.domains.ecommerce.generator import EcommerceGenerator
from dataplatform.settings import EcommerceVolumes
from dataplatform.synthetic.batch import GeneratedBatch
from dataplatform.synthetic.delivery import Delivery
from platform_tests.conftest import DAY, SMALL


@pytest.fixture
def small_pieces(monkeypatch):
    """Pieces of 16 orders, so a small day has dozens of them and blocks of several."""
    monkeypatch.setattr(ecommerce, "PIECE_ORDERS", 16)


def generator(volumes: EcommerceVolumes = SMALL, defect_rate: float = 0.05, threads: int | None = None):
    return EcommerceGenerator(7, volumes, defect_rate, threads=threads)


def assert_same(a: GeneratedBatch, b: GeneratedBatch) -> None:
    assert a.tables.keys() == b.tables.keys()
    for name in a.tables:
        assert a.tables[name].equals(b.tables[name]), name
    assert a.defects.equals(b.defects)


@pytest.mark.parametrize("chunk_rows", [1, 50, 300, 1_000, 10**9])
def test_chunks_of_any_size_join_into_the_whole_day(small_pieces, chunk_rows):
    whole = generator().day(DAY)
    chunks = list(generator(threads=1).day_chunks(DAY, chunk_rows))
    assert_same(GeneratedBatch.joined(chunks), whole)
    if chunk_rows == 1:  # one piece per chunk: as many chunks as pieces
        assert len(chunks) == len(generator()._pieces(DAY)) > 20


def test_a_whole_day_is_one_chunk_of_pieces_that_follow_time(small_pieces):
    gen = generator()
    pieces = gen._pieces(DAY)
    orders = gen.clean_day(DAY)[0]
    assert sum(p.orders for p in pieces) == orders.num_rows
    assert max(p.orders for p in pieces) <= 16 and len({p.block for p in pieces}) == 8
    assert len(list(gen.day_chunks(DAY))) == 1
    ids, stamps = orders["order_id"].to_pylist(), orders["order_ts"].to_pylist()
    assert ids == sorted(ids) and stamps == sorted(stamps)


def test_the_generator_holds_one_chunk_and_makes_none_ahead(monkeypatch):
    """Memory is bounded by the chunk setting: a chunk is made only when asked for, from the
    pieces it hands over and no others, and is expected to hold at most `chunk_rows` rows (items
    per order are random: pieces this small may exceed it by a few per mille)."""
    monkeypatch.setattr(ecommerce, "PIECE_ORDERS", 1_000)
    volumes = EcommerceVolumes(customers=500, products=100, orders_per_day=40_000, items_per_order=2.5)
    gen = generator(volumes, defect_rate=0.0)
    made: list[int] = []
    piece = gen._piece

    def counted(day, p):
        made.append(p.orders)
        return piece(day, p)

    monkeypatch.setattr(gen, "_piece", counted)
    chunk_rows, sizes, handed_over = 10_000, [], 0
    for chunk in gen.day_chunks(DAY, chunk_rows):
        assert chunk.tables["orders"].num_rows == sum(made[handed_over:])  # just made, none ahead
        assert sum(made[handed_over:]) * (1 + volumes.items_per_order) <= chunk_rows  # expected
        handed_over = len(made)
        sizes.append(chunk.rows)
    assert max(sizes) <= chunk_rows * 1.02
    assert len(sizes) >= sum(sizes) / chunk_rows and len(made) == len(gen._pieces(DAY)) >= 40


def test_duplicates_reach_later_chunks_and_are_recorded(small_pieces):
    gen = generator(defect_rate=0.2)
    chunks = list(gen.day_chunks(DAY, 1))
    day = GeneratedBatch.joined(chunks)
    crossing = 0
    for table, key in (("orders", "order_id"), ("order_items", "order_item_id")):
        recorded = day.defects.filter(
            pc.and_(
                pc.equal(day.defects["table"], table),
                pc.is_in(day.defects["kind"], pa.array(["exact_duplicate", "near_duplicate"])),
            )
        )["key"].to_pylist()
        first_chunk: dict[str, int] = {}
        copies_in: dict[str, list[int]] = {}
        for number, chunk in enumerate(chunks):
            for value in map(str, chunk.tables[table][key].to_pylist()):
                if value in first_chunk:
                    copies_in.setdefault(value, []).append(number)
                else:
                    first_chunk[value] = number
        # the extra rows are exactly the recorded duplicates, each after the row it copies
        assert sorted(recorded) == sorted(k for k, where in copies_in.items() for _ in where)
        crossing += sum(1 for k, where in copies_in.items() for n in where if n > first_chunk[k])
    assert crossing > 0


def test_a_delivery_streams_the_largest_table_and_spools_the_others(tmp_path: Path):
    gen = generator()
    whole = gen.day(DAY)
    delivery = Delivery(gen.day_chunks(DAY, 100), tmp_path, "defects")
    got = {}
    for name, reader in delivery.streams():
        got[name] = reader.read_all()
        if name == "order_items":  # the largest: generated as it is read, before the others
            assert delivery.finished
            assert sorted(p.name for p in tmp_path.iterdir()) == ["defects.parquet", "orders.parquet"]
    assert list(got) == ["order_items", "orders", "defects"]
    for name, table in whole.tables.items():
        assert got[name].equals(table), name
    assert got["defects"].equals(whole.defects)
    assert delivery.rows == {n: t.num_rows for n, t in got.items()}
    assert sum(delivery.defect_kinds.values()) == whole.defects.num_rows and delivery.seconds > 0


def test_a_delivery_read_out_of_order_says_so(tmp_path: Path):
    streams = Delivery(generator().day_chunks(DAY, 100), tmp_path, "defects").streams()
    next(streams)  # the generated stream, never read
    with pytest.raises(RuntimeError, match="not read to its end"):
        next(streams)
