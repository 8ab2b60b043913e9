"""REST API: 16 concurrent clients reading gold over HTTP, beside DuckDB in process and the server's floor.

The table: gold/ecommerce/daily_sales with the platform's columns (order_date, currency, channel,
status, orders, items, revenue, average_order_value, revenue_usd), `--rows` rows (default 200,000)
over 30 days, seeded, written by `DuckDBStore.write` into `warehouse.duckdb` and published with
`snapshots.publish`, exactly what the gold IO manager does after a gold write.

The server: `python -m dataplatform.cli serve` (uvicorn, one worker) as a subprocess over the
work folder, an API key checked on every data request, the rate limit set out of the way.

Queries, each by `--clients` (default 16) concurrent clients (threads, each with its own
keep-alive httpx connection), `--requests` (default 60) requests per client, after 3 warm-up
requests each:

* page: `GET /gold/ecommerce/daily_sales?limit=1000`, JSON, rows in key order. Direct anchor: the
  same `SELECT * ... ORDER BY key LIMIT 1000` on a DuckDB connection to `warehouse.duckdb` in this
  process (a cursor per thread), rows fetched as Python tuples.
* aggregate: `GET /gold/.../aggregate?group_by=currency&metric=sum:revenue&filter=channel:eq:web`.
  Direct anchor: `SELECT currency, sum(revenue) ... WHERE channel = ? GROUP BY currency`.
* floor: `GET /health` on the same server through the same clients: what the framework, uvicorn,
  HTTP and the client cost with no work at all.

Then both API queries again while another process rewrites and republishes the table in a loop
(a gold rematerialisation, as the IO manager does it): every answer must be a 200 with the whole
page. The direct anchor cannot run then: DuckDB lets no other process write the file while a
connection holds it, which is why the API serves snapshots.

Figures: p50, p95, p99 latency (ms) and requests/s. Goal (issue 19): an API query's p95 at most
2x (direct p95 + floor p95), and no error during the rematerialisation. The last line is JSON.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from _harness import _revision, parse_args, work_folder

PAGE = "/gold/ecommerce/daily_sales?limit=1000"
AGGREGATE = "/gold/ecommerce/daily_sales/aggregate?group_by=currency&metric=sum:revenue&filter=channel:eq:web"
PAGE_SQL = (
    'SELECT * FROM "gold_ecommerce"."daily_sales" ORDER BY order_date, currency, channel, status LIMIT 1000'
)
AGGREGATE_SQL = (
    'SELECT currency, sum(revenue) AS sum_revenue FROM "gold_ecommerce"."daily_sales" '
    "WHERE channel = ? GROUP BY currency ORDER BY currency"
)
GOAL = 2.0


@dataclass(frozen=True)
class Latencies:
    what: str
    seconds: list[float]
    wall: float
    errors: int

    def percentile(self, p: float) -> float:
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000

    @property
    def rate(self) -> float:
        return len(self.seconds) / self.wall if self.wall else 0.0


def main() -> None:
    args = parse_args(
        __doc__,
        default_rows=200_000,
        add=lambda p: (
            p.add_argument("--clients", type=int, default=16),
            p.add_argument("--requests", type=int, default=60, help="per client"),
            p.add_argument("--work-dir", type=Path, default=None),
        ),
    )
    with work_folder(args.work_dir, "bench_api_") as root:
        data = root / "data"
        _write_and_publish(data, args.rows, seed=1)
        results = [
            _direct("page: DuckDB in process", data, PAGE_SQL, [], args.clients, args.requests),
            _direct(
                "aggregate: DuckDB in process", data, AGGREGATE_SQL, ["web"], args.clients, args.requests
            ),
        ]
        key, env = _server_env(root, data)
        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "dataplatform.cli", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(base)
            headers = {"X-API-Key": key}
            results.append(_http("floor: GET /health", base, "/health", headers, args.clients, args.requests))
            results.append(_http("page: API", base, PAGE, headers, args.clients, args.requests))
            results.append(_http("aggregate: API", base, AGGREGATE, headers, args.clients, args.requests))
            spawn = multiprocessing.get_context("spawn")
            stop, publications = spawn.Event(), spawn.Value("i", 0)
            writer = spawn.Process(target=_rematerialise, args=(str(data), args.rows, stop, publications))
            writer.start()
            try:
                time.sleep(1.0)  # the writer is past its imports and writing
                during = [
                    _http(
                        "page: API, gold rewritten meanwhile",
                        base,
                        PAGE,
                        headers,
                        args.clients,
                        args.requests,
                    ),
                    _http(
                        "aggregate: API, gold rewritten meanwhile",
                        base,
                        AGGREGATE,
                        headers,
                        args.clients,
                        args.requests,
                    ),
                ]
            finally:
                stop.set()
                writer.join()
            results += during
        finally:
            server.terminate()
            server.wait(timeout=30)
        _report(args, results, writes=publications.value)


def _write_and_publish(data: Path, rows: int, seed: int) -> None:
    """What the gold IO manager does: write the table to the warehouse, publish its snapshot."""
    from dataplatform.storage import TableName, open_store
    from dataplatform.storage.snapshots import publish, snapshot_root

    store = open_store("duckdb", data)
    table = TableName("gold", "ecommerce", "daily_sales")
    store.write(table, _daily_sales(rows, seed))
    publish(store, table, snapshot_root(data))


def _daily_sales(rows: int, seed: int):
    import datetime as dt
    from decimal import Decimal

    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    currencies = np.array(["AUD", "BRL", "CAD", "EUR", "GBP", "INR", "JPY", "USD"])
    channels = np.array(["web", "mobile", "marketplace", "store"])
    statuses = np.array(["placed", "shipped", "delivered", "cancelled", "returned"])
    # unique keys: (day, currency, channel, status, n) spread over 30 days and a bucket number
    index = np.arange(rows)
    day = index % 30
    orders = rng.integers(1, 500, rows)
    revenue = np.round(rng.uniform(10, 50_000, rows), 2)
    start = dt.date(2026, 3, 1)
    return pa.table(
        {
            "order_date": pa.array([start + dt.timedelta(days=int(d)) for d in day], pa.date32()),
            "currency": pa.array(currencies[(index // 30) % 8]),
            "channel": pa.array(channels[(index // 240) % 4]),
            "status": pa.array([f"{statuses[(i // 960) % 5]}_{i // 4800}" for i in index]),
            "orders": pa.array(orders, pa.int64()),
            "items": pa.array(orders * 2, pa.int64()),
            "revenue": pa.array([Decimal(f"{v:.2f}") for v in revenue], pa.decimal128(14, 2)),
            "average_order_value": pa.array(
                [Decimal(f"{v:.2f}") for v in revenue / orders], pa.decimal128(12, 2)
            ),
            "revenue_usd": pa.array([Decimal(f"{v:.2f}") for v in revenue * 0.9], pa.decimal128(14, 2)),
        }
    )


def _rematerialise(data: str, rows: int, stop, publications) -> None:
    """Rewrite and republish the table until told to stop (another process, as a run is)."""
    seed = 2
    while not stop.is_set():
        _write_and_publish(Path(data), rows, seed)
        seed += 1
        with publications.get_lock():
            publications.value += 1


def _direct(what: str, data: Path, sql: str, params: list, clients: int, requests: int) -> Latencies:
    import duckdb

    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)

    def query(cursor) -> None:
        cursor.execute(sql, params).fetchall()

    def client(samples: list[float], errors: list[int]) -> None:
        cursor = con.cursor()
        for _ in range(3):
            query(cursor)
        for _ in range(requests):
            started = time.perf_counter()
            query(cursor)
            samples.append(time.perf_counter() - started)
        cursor.close()

    try:
        return _concurrently(what, client, clients)
    finally:
        con.close()


def _http(what: str, base: str, path: str, headers: dict, clients: int, requests: int) -> Latencies:
    import httpx

    def client(samples: list[float], errors: list[int]) -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
            for _ in range(3):
                http.get(path)
            for _ in range(requests):
                started = time.perf_counter()
                response = http.get(path)
                body = response.content
                samples.append(time.perf_counter() - started)
                if response.status_code != 200 or (path == PAGE and body.count(b'{"order_date":') != 1000):
                    errors.append(response.status_code)

    return _concurrently(what, client, clients)


def _concurrently(what: str, client, clients: int) -> Latencies:
    samples: list[float] = []
    errors: list[int] = []
    threads = [threading.Thread(target=client, args=(samples, errors)) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Latencies(what, samples, time.perf_counter() - started, len(errors))


def _server_env(root: Path, data: Path) -> tuple[str, dict[str, str]]:
    from dataplatform.api.keys import KeyStore

    keys = root / "keys.json"
    _, key = KeyStore(keys).create("bench", "read")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATAPLATFORM_", "DAGSTER_"))}
    (root / "dagster").mkdir(exist_ok=True)
    env.update(
        DATAPLATFORM_DATA_DIR=str(data),
        DAGSTER_HOME=str(root / "dagster"),
        DATAPLATFORM_API_KEYS_FILE=str(keys),
        DATAPLATFORM_API_RATE_PER_SECOND="1000000",
        DATAPLATFORM_API_RATE_BURST="1000000",
    )
    return key, env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(base: str, seconds: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base}/health", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit(f"the server did not answer within {seconds} s")


def _report(args, results: list[Latencies], writes: int) -> None:
    by = {r.what: r for r in results}
    floor = by["floor: GET /health"].percentile(95)
    print(f"bench/api.py  rows={args.rows:,}  clients={args.clients}  requests/client={args.requests}")
    print(f"commit {_revision()}  load average {os.getloadavg()[0]:.2f}")
    print(
        f"{'what':<44}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'req/s':>9}{'errors':>8}{'p95 / (direct+floor)':>22}"
    )
    figures = []
    for r in results:
        kind = r.what.split(":")[0]
        ratio = None
        if "API" in r.what:
            ratio = r.percentile(95) / (by[f"{kind}: DuckDB in process"].percentile(95) + floor)
        print(
            f"{r.what:<44}{r.percentile(50):>9.2f}{r.percentile(95):>9.2f}{r.percentile(99):>9.2f}"
            f"{r.rate:>9.0f}{r.errors:>8}{'' if ratio is None else f'{ratio:.2f}x':>22}"
        )
        figures.append(
            {
                "what": r.what,
                "p50_ms": round(r.percentile(50), 3),
                "p95_ms": round(r.percentile(95), 3),
                "p99_ms": round(r.percentile(99), 3),
                "requests_per_s": round(r.rate, 1),
                "errors": r.errors,
                "ratio_p95_to_direct_plus_floor": None if ratio is None else round(ratio, 3),
            }
        )
    met = all(
        f["ratio_p95_to_direct_plus_floor"] is None or f["ratio_p95_to_direct_plus_floor"] <= GOAL
        for f in figures
    )
    clean = all(f["errors"] == 0 for f in figures)
    print(
        f"goal: API p95 within {GOAL}x of direct + floor: {'met' if met else 'NOT met'}; "
        f"errors while gold was rewritten and republished {writes} times: {'none' if clean else 'SOME'}"
    )
    print(
        json.dumps(
            {
                "bench": "api",
                "rows": args.rows,
                "clients": args.clients,
                "requests_per_client": args.requests,
                "commit": _revision(),
                "figures": figures,
                "publications_during_reads": writes,
                "goal_met": met,
                "no_errors": clean,
            }
        )
    )


if __name__ == "__main__":
    main()
