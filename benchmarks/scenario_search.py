"""Scenario 5: catalog search at 10k, 100k and 1M items, against stac-fastapi-pgstac.

The items are grown from the real collections by ``catalog_search.py`` (its ``grow``); the
same items are loaded into the hub's PostgreSQL catalog (``sco_bench_<N>``, by
``catalog_search.prepare``: COPY, GiST index after) and into a pgstac database
(``pgstac_bench_<N>``: ``pypgstac migrate`` then ``pypgstac load`` from a pipe). Both are
reused by the next run when they still hold N items.

Each contender is a server on loopback answering ``GET /search`` (the hub at ``/stac/search``)
with the same random queries (a 40 x 30 degree box, a 31-day window, one collection,
``limit=100``), one at a time, A B A B. The floor: a bare HTTP round trip to the hub.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from datetime import UTC
from pathlib import Path

import catalog_search as cs
import httpx
from harness import (
    DATA,
    PEERS_PYTHON,
    Row,
    Server,
    hub_server,
    log,
    median,
    peak_rss_mb,
    percentile,
    reset_peak,
    uvicorn,
)
from sqlalchemy import create_engine, text

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
KIND = "bbox+datetime+collection"


def _z(value: object) -> str:
    from datetime import datetime

    assert isinstance(value, datetime)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _pgstac_count(dbname: str) -> int:
    engine = create_engine(f"postgresql://postgres@127.0.0.1:5432/{dbname}")
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM pgstac.items")).scalar() or 0)
    except Exception:  # noqa: BLE001 - a missing or empty database counts as unloaded
        return -1
    finally:
        engine.dispose()


def _dated(item: dict[str, object]) -> dict[str, object]:
    """pgstac needs a time on every item: static ones (none match a timed query) get 1970."""
    props = item["properties"]
    assert isinstance(props, dict)
    if props.get("datetime") is None and props.get("start_datetime") is None:
        item = {**item, "properties": {**props, "datetime": "1970-01-01T00:00:00Z"}}
    return item


def load_pgstac(n: int, synthetic: list[cs.Synthetic]) -> str:
    """Create and load ``pgstac_bench_<n>`` (or reuse it); return its name."""
    name = f"pgstac_bench_{n}"
    if _pgstac_count(name) == n:
        return name
    admin = create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    dsn = f"postgresql://postgres@127.0.0.1:5432/{name}"
    pypgstac = str(PEERS_PYTHON.with_name("pypgstac"))
    subprocess.run([pypgstac, "migrate", "--dsn", dsn], check=True, capture_output=True)
    start = time.perf_counter()
    for table, docs in (
        ("collections", (s.collection for s in synthetic)),
        ("items", (_dated(item) for s in synthetic for item in s.items())),
    ):
        proc = subprocess.Popen(
            [pypgstac, "load", table, "stdin", "--dsn", dsn, "--method", "insert"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdin is not None
        for doc in docs:
            proc.stdin.write(json.dumps(doc) + "\n")
        proc.stdin.close()
        if proc.wait() != 0:
            detail = proc.stderr.read() if proc.stderr else ""
            raise RuntimeError(f"pypgstac load {table}: {detail}")
    log(f"  loaded {n:,} items into pgstac in {time.perf_counter() - start:.0f} s")
    return name


def _params(query: cs.SearchQuery) -> dict[str, str]:
    assert query.bbox is not None and query.collections
    return {
        "bbox": ",".join(f"{v:.4f}" for v in query.bbox),
        "datetime": f"{_z(query.start)}/{_z(query.end)}",
        "collections": ",".join(query.collections),
        "limit": "100",
    }


def run(sizes: list[int], n_queries: int, samples_hub: Path | None) -> list[Row]:
    """Load both catalogs at every size and time the same queries on both servers."""
    if samples_hub is None:  # the bundled samples, ingested once and kept with the other data
        samples_hub = DATA / "hub-samples"
        if not (samples_hub / "built.json").is_file():
            import shutil

            shutil.rmtree(samples_hub, ignore_errors=True)
            shutil.move(str(cs.source_hub(None)), samples_hub)
            (samples_hub / "built.json").write_text("{}")
    tpls = cs.templates(samples_hub)
    args = argparse.Namespace(
        admin_url=ADMIN, reuse=True, sqlite_dir=tempfile.gettempdir(), drop=False
    )
    rows: list[Row] = []
    for n in sizes:
        synthetic = cs.grow(tpls, n)
        queries = cs.workload(synthetic, n_queries, 20260701)[KIND]
        log(f"catalog {n:,} items: loading the hub's PostgreSQL catalog (reused when loaded)")
        url = cs.prepare("postgresql", n, args, synthetic)
        log(f"catalog {n:,} items: loading pgstac (reused when loaded)")
        pgdb = load_pgstac(n, synthetic)
        home = DATA / "hub-catalog"
        (home / "store").mkdir(parents=True, exist_ok=True)
        hub = hub_server(f"hub-search-{n}", home)
        hub.env["SCO_CATALOG_URL"] = url
        pg = uvicorn(
            f"pgstac-{n}",
            PEERS_PYTHON,
            "stac_fastapi.pgstac.app:create_app",
            "/_mgmt/ping",
            {
                "PGUSER": "postgres",
                "PGPASSWORD": "postgres",
                "PGHOST": "127.0.0.1",
                "PGPORT": "5432",
                "PGDATABASE": pgdb,
            },
            factory=True,
        )
        servers: dict[str, tuple[Server, str]] = {
            "hub (PostgreSQL)": (hub, "/stac/search"),
            "stac-fastapi-pgstac": (pg, "/search"),
        }
        times: dict[str, list[float]] = {k: [] for k in servers}
        returned: dict[str, list[int]] = {k: [] for k in servers}
        try:
            for server, _path in servers.values():
                server.start()
            with httpx.Client(timeout=120) as client:
                for server, path in servers.values():  # warm-up
                    for q in queries[:10]:
                        client.get(server.base + path, params=_params(q)).raise_for_status()
                    reset_peak(server.pid)
                for q in queries:
                    for name, (server, path) in servers.items():
                        start = time.perf_counter()
                        response = client.get(server.base + path, params=_params(q))
                        body = response.content
                        times[name].append(time.perf_counter() - start)
                        if response.status_code != 200:
                            raise RuntimeError(f"{name}: {response.status_code} {body[:300]!r}")
                        returned[name].append(len(json.loads(body).get("features", [])))
                trips = []
                for _ in range(50):
                    start = time.perf_counter()
                    client.get(hub.base + "/stac/conformance").read()
                    trips.append(time.perf_counter() - start)
            peaks = {name: peak_rss_mb(server.pid) for name, (server, _p) in servers.items()}
        finally:
            for server, _path in servers.values():
                server.stop()
        floor = median(trips)
        ours = median(times["hub (PostgreSQL)"])
        for name, values in times.items():
            rows.append(
                Row(
                    "5 catalog search",
                    f"{n:,} items",
                    name,
                    "median ms",
                    median(values) * 1000,
                    "ms",
                    ratio=median(values) / ours if name != "hub (PostgreSQL)" else None,
                    floor_x=median(values) / floor,
                    peak_mb=peaks.get(name),
                    note=f"p95 {percentile(values, 0.95) * 1000:.1f} ms, "
                    f"{sum(returned[name]) / len(returned[name]):.0f} items/page, n={len(values)}",
                )
            )
        rows.append(
            Row(
                "5 catalog search",
                f"{n:,} items",
                "floor",
                "median ms",
                floor * 1000,
                "ms",
                note="bare HTTP round trip (hub /stac/conformance)",
            )
        )
    return rows
