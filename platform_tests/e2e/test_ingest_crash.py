"""A load killed half way (SIGKILL, no cleanup) leaves the previous table readable, and the
file, still waiting, is loaded exactly once afterwards."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import NamedTuple

import duckdb

from dataplatform.ingest.dropzone import DropZone, content_hash
from dataplatform.ingest.service import Ingestor, reference_table
from dataplatform.storage import open_store
from platform_tests.e2e.conftest import BIN, PROJECT
from platform_tests.processes import has_open, wait_until

ROWS = 1_500_000  # long enough a load that the kill lands in the middle of it


def test_a_full_reload_killed_mid_way_keeps_the_old_version_and_loads_once_after(user_env, tmp_path):
    data = tmp_path / "data"
    ingestor = Ingestor(DropZone(data / "dropzone"), open_store("delta", data))
    small = tmp_path / "small" / "deliveries.csv"
    small.parent.mkdir()
    small.write_text("id,amount\n1,1.5\n2,2.5\n")
    first = subprocess.run(
        [str(BIN / "dataplatform"), "ingest", str(small), "--create"], env=user_env, cwd=PROJECT
    )
    assert first.returncode == 0
    table = reference_table("deliveries")
    before = ingestor.store.read(table)

    big = tmp_path / "deliveries.csv"
    with duckdb.connect() as con:
        con.execute(f"COPY (SELECT i AS id, i / 10 AS amount FROM range({ROWS}) t(i)) TO '{big}' (HEADER)")
    process = subprocess.Popen([str(BIN / "dataplatform"), "ingest", str(big)], env=user_env, cwd=PROJECT)
    waiting = (ingestor.zone.incoming / "deliveries" / "deliveries.csv").resolve()
    # the copy into the drop zone is done and the load reads the delivery: inside detection or
    # the typed read, which streams into the Delta write
    wait_until(
        lambda: (
            waiting.exists()
            and waiting.stat().st_size == big.stat().st_size
            and has_open(process.pid, waiting)
        ),
        process,
        120,
        "the load reading the delivered file",
    )
    process.send_signal(signal.SIGKILL)
    process.wait()

    assert ingestor.store.read(table).equals(before)  # the previous version, whole and readable
    assert waiting.is_file()  # the delivery is still waiting, not lost
    assert [e["file"] for e in ingestor.ledger.entries().to_pylist()] == [
        "deliveries.csv"
    ]  # the first load only

    entry = ingestor.ingest(waiting, "deliveries")  # the sensor's next run
    assert (entry.status, entry.rows_loaded) == ("loaded", ROWS)
    assert ingestor.store.row_count(table) == ROWS
    digest = entry.content_hash
    assert sum(c.get("dataplatform.content_hash") == digest for c in ingestor.store.history(table)) == 1
    assert [e["status"] for e in ingestor.ledger.entries().to_pylist() if e["content_hash"] == digest] == [
        "loaded"
    ]
    assert content_hash(data / "dropzone" / entry.moved_to) == digest


def test_an_ingest_killed_mid_copy_leaves_nothing_the_sensor_would_take(user_env, tmp_path):
    data = tmp_path / "data"
    zone = DropZone(data / "dropzone")
    big = tmp_path / "deliveries.csv"
    with duckdb.connect() as con:  # about 360 MB: a copy of a second or so to land the kill in
        con.execute(
            f"COPY (SELECT i AS id, i / 10 AS amount, 'name ' || i AS name FROM range(12000000) t(i)) TO '{big}' (HEADER)"
        )
    process = subprocess.Popen(
        [str(BIN / "dataplatform"), "ingest", str(big), "--create"], env=user_env, cwd=PROJECT
    )
    folder = zone.incoming / "deliveries"
    deadline = time.monotonic() + 60
    while not [p for p in folder.glob(".*.part") if 0 < p.stat().st_size < big.stat().st_size]:
        assert time.monotonic() < deadline and process.poll() is None, (
            "the copy ended before it could be killed"
        )
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()

    assert not (folder / "deliveries.csv").exists()  # never under the name a delivery has
    state: dict = {}
    for _ in range(3):  # however long it lies there, the sensor's scan never takes the partial copy
        scan = zone.scan(state, ticks=2)
        assert scan.ready == [] and scan.rejected == []
        state = scan.state
    again = subprocess.run(
        [str(BIN / "dataplatform"), "ingest", str(big), "--format", "json"],
        env=user_env,
        cwd=PROJECT,
        capture_output=True,
        text=True,
    )
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["rows_loaded"] == 12_000_000


GB = 10**9


def test_a_one_gigabyte_file_streams_through_in_bounded_memory(user_env, tmp_path):
    """The whole file never sits in memory: the load's memory does not grow with the file's size.

    What is bounded is the growth, not the total: the command's peak resident memory for a 1 GB
    file against its peak for a quarter of it. Imports, DuckDB's and the Delta writer's buffers
    and the allocator's arenas are in both, and vary with the machine's load (a loaded machine
    saw a 1,358 MiB total); a load that holds the file (an Arrow table of it is about its size)
    grows by most of the 0.78 GB between them, a streamed one by almost nothing."""
    rows = 16_500_000  # about 1.04 GB of text
    quarter = _ingested_peak(tmp_path, user_env, "quarter_deliveries", rows // 4)
    whole = _ingested_peak(tmp_path, user_env, "big_deliveries", rows)
    assert whole.size > GB
    growth, more = whole.peak - quarter.peak, whole.size - quarter.size
    assert growth < 0.25 * more, (
        f"peak resident memory {quarter.peak / MIB:.0f} MiB for a {quarter.size / MIB:.0f} MiB file, "
        f"{whole.peak / MIB:.0f} MiB for a {whole.size / MIB:.0f} MiB file: it grows with the file"
    )


MIB = 1 << 20


class Ingested(NamedTuple):
    size: int  # the file's bytes
    peak: int  # the command's peak resident memory, bytes


def _ingested_peak(tmp_path: Path, env: dict[str, str], name: str, rows: int) -> Ingested:
    """`dataplatform ingest` of a generated file of `rows` rows; all its rows must land."""
    import os

    path = tmp_path / f"{name}.csv"
    with duckdb.connect() as con:
        con.execute(
            f"""COPY (SELECT i AS id, lpad((i % 100000)::VARCHAR, 6, '0') AS code,
                             'customer ' || (i % 7919)::VARCHAR AS name, round(i / 100.0, 2) AS amount,
                             DATE '2026-01-01' + (i % 365)::INTEGER AS day, i % 3 = 0 AS active,
                             'note ' || (i % 101)::VARCHAR AS note
                      FROM range({rows}) t(i)) TO '{path}' (HEADER)"""
        )
    size = path.stat().st_size
    process = subprocess.Popen(
        [str(BIN / "dataplatform"), "ingest", str(path), "--format", "json", "--create"],
        env=env,
        cwd=PROJECT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(process.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, process.stderr.read().decode()[-2000:]
    table = open_store("delta", tmp_path / "data").read(reference_table(name), columns=["id"])
    assert table.num_rows == rows
    return Ingested(size, usage.ru_maxrss * 1024)
