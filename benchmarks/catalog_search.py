"""Benchmark: item search latency of the catalog at 10k to 1M items, PostgreSQL and SQLite.

Items are grown from the real collections: every bundled sample is ingested into a scratch
hub (or ``--hub`` names an existing one), and each real collection's STAC documents are
replicated over its own time step (``cube:dimensions.time.step``) and over granule tiles of
its own footprint, until the catalog holds N items. The catalog is loaded in bulk (COPY on
PostgreSQL, batched inserts on SQLite), then searched through the backend's own ``search``,
timing the whole call (SQL, JSON decoding of the page) over random queries:

- ``bbox+datetime+collection``: a 40x30 degree box, a 31-day window, one collection;
- ``bbox+datetime``: the same box and a one-day window over every collection;
- ``collection, first page``: the first 100 items of one collection;
- ``bbox only``: a box with no time or collection, the worst case (counts many matches).

Run (PostgreSQL on 127.0.0.1, trust auth; databases ``sco_bench_<N>`` are created)::

    .venv/bin/python benchmarks/catalog_search.py --items 10000 100000 1000000

Options: ``--backends postgresql sqlite``, ``--admin-url``, ``--queries``, ``--reuse`` (search
an already loaded database again), ``--drop`` (drop the databases afterwards).
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import create_engine, text

from spaceclimate.catalog import SearchQuery
from spaceclimate.db import migrate
from spaceclimate.catalog.base import VersionRecord
from spaceclimate.catalog.sql import SQLCatalogBackend

REPO = Path(__file__).resolve().parents[1]
#: ISO 8601 steps of the real collections -> pandas frequencies.
FREQUENCIES = {"P1D": "D", "P7D": "7D", "P8D": "8D", "P10D": "10D", "P1M": "MS", "P1Y": "YS"}
ITEMS_PER_COLLECTION = 25_000  # collections are copied ("-r01", ...) beyond this many items
MAX_YEARS = 45  # nor does a collection's time series reach back further than this
#: Days of each step, to cap a series at MAX_YEARS.
STEP_DAYS = {"P1D": 1, "P7D": 7, "P8D": 8, "P10D": 10, "P1M": 30.44, "P1Y": 365.25}
QUERY_KINDS = ("bbox+datetime+collection", "bbox+datetime", "collection, first page", "bbox only")


@dataclass
class Template:
    """One real collection and one of its real items."""

    collection: dict[str, Any]
    item: dict[str, Any]

    @property
    def step(self) -> str | None:
        """The collection's time step (None: static)."""
        if self.collection["extent"]["temporal"]["interval"][0][0] is None:
            return None
        return str(self.collection.get("cube:dimensions", {}).get("time", {}).get("step") or "P1D")


@dataclass
class Synthetic:
    """A generated collection: its document, time extent and how to make its items."""

    collection: dict[str, Any]
    template: dict[str, Any]
    count: int
    tiles: list[tuple[float, float, float, float]]
    starts: list[datetime]  # start of each time step, plus the end of the last one
    start: datetime | None = None
    end: datetime | None = None

    def items(self) -> Iterator[dict[str, Any]]:
        """Generate the items (lazily: a million of them do not fit in memory as dicts)."""
        cid = self.collection["id"]
        if not self.starts:
            for k, box in enumerate(self.tiles[: self.count]):
                yield _item(self.template, cid, k, box, None, None)
            return
        per_step = _per_step(self.tiles)
        for n in range(self.count):
            j, k = divmod(n, per_step)
            box = self.tiles[(j * 7919 * (per_step != 8) + k) % len(self.tiles)]
            end = self.starts[j + 1] - timedelta(seconds=1)
            yield _item(self.template, cid, n, box, self.starts[j], end)


# -- the real templates ---------------------------------------------------------------------------
def source_hub(path: Path | None) -> Path:
    """Return a hub holding the real samples (ingesting them into a scratch hub if needed)."""
    if path is not None:
        return path
    from spaceclimate.config import Settings
    from spaceclimate.ingest import Ingestor

    home = Path(tempfile.mkdtemp(prefix="sco-bench-hub-"))
    print(f"ingesting the bundled samples into {home} ...", flush=True)
    ingestor = Ingestor(Settings(home=home))
    try:
        ingestor.ingest([REPO / "data" / "samples"])
    finally:
        ingestor.close()
    return home


def templates(hub: Path) -> list[Template]:
    """Return the real collections of *hub*, each with its first item."""
    cat = SQLCatalogBackend(f"sqlite:///{hub / 'catalog.db'}")
    try:
        out = []
        for col in cat.list_collections():
            first = cat.list_items(col["id"], limit=1, offset=0).features
            if first:
                out.append(Template(col, first[0]))
        return out
    finally:
        cat.close()


# -- growing them ---------------------------------------------------------------------------------
def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _tiles(bbox: list[float]) -> list[tuple[float, float, float, float]]:
    """Granule footprints: a wide footprint split 4x2, a small one laid out over the globe."""
    w, s, e, n = bbox
    if e - w >= 90:
        dx, dy = (e - w) / 4, (n - s) / 2
        return [
            (w + i * dx, s + j * dy, w + (i + 1) * dx, s + (j + 1) * dy)
            for j in range(2)
            for i in range(4)
        ]
    dx, dy = max(e - w, 1.0), max(n - s, 1.0)
    return [
        (x, y, x + dx, y + dy)
        for y in range(-80, int(80 - dy) + 1, int(dy) or 1)
        for x in range(-180, int(180 - dx) + 1, int(dx) or 1)
    ]


def _item(
    template: dict[str, Any],
    cid: str,
    n: int,
    box: tuple[float, ...],
    start: datetime | None,
    end: datetime | None,
) -> dict[str, Any]:
    item = dict(template)  # nested parts shared with the template, except those replaced
    item["properties"] = props = dict(template["properties"])
    item["id"] = f"{template['id']}_{n:07d}"
    item["collection"] = cid
    item["bbox"] = [round(v, 6) for v in box]
    w, s, e, nn = item["bbox"]
    item["geometry"] = {
        "type": "Polygon",
        "coordinates": [[[w, s], [e, s], [e, nn], [w, nn], [w, s]]],
    }
    if start is not None and end is not None:
        props["datetime"] = None
        props["start_datetime"], props["end_datetime"] = _iso(start), _iso(end)
        props["sco:first_time"] = _iso(start)
    return item


def grow(tpls: list[Template], total: int) -> list[Synthetic]:
    """Return synthetic collections holding *total* items grown from the real templates."""
    timed = [t for t in tpls if t.step is not None]
    static = [t for t in tpls if t.step is None]
    out: list[Synthetic] = []
    made = 0
    for t in static:
        tiles = _tiles(t.item["bbox"])[:8]
        out.append(Synthetic(copy.deepcopy(t.collection), t.item, len(tiles), tiles, []))
        made += len(tiles)
    for index, t in enumerate(timed):
        left = total - made
        share = left // (len(timed) - index)
        copies = max(1, -(-share // _capacity(t)))
        for r in range(copies):
            count = share // copies + (1 if r < share % copies else 0)
            cid = t.collection["id"] if copies == 1 else f"{t.collection['id']}-r{r:02d}"
            out.append(_grow_one(t, cid, count))
            made += count
    return out


def _per_step(tiles: list[tuple[float, float, float, float]]) -> int:
    """Granules a time step: the 8 parts of a wide footprint, or up to 64 small tiles."""
    return 8 if len(tiles) == 8 else min(len(tiles), 64)


def _capacity(t: Template) -> int:
    """Most items one collection grown from *t* holds (MAX_YEARS of steps, all tiles)."""
    steps = int(MAX_YEARS * 365.25 / STEP_DAYS.get(str(t.step), 1))
    return min(ITEMS_PER_COLLECTION, steps * _per_step(_tiles(t.item["bbox"])))


def _grow_one(t: Template, cid: str, count: int) -> Synthetic:
    tiles = _tiles(t.item["bbox"])
    per_step = _per_step(tiles)
    steps = max(1, -(-count // per_step))
    end_of = datetime.fromisoformat(t.collection["extent"]["temporal"]["interval"][0][1])
    freq = FREQUENCIES.get(str(t.step), "D")
    stamps = pd.date_range(end=pd.Timestamp(end_of).floor("D"), periods=steps + 1, freq=freq)
    starts = [s.to_pydatetime().replace(tzinfo=UTC) for s in stamps]
    col = copy.deepcopy(t.collection)
    col["id"] = cid
    first, last = starts[0], starts[-1] - timedelta(seconds=1)
    col["extent"]["temporal"]["interval"] = [[_iso(first), _iso(last)]]
    return Synthetic(col, t.item, count, tiles, starts, first, last)


# -- loading --------------------------------------------------------------------------------------
def _publish_collections(backend: SQLCatalogBackend, synthetic: list[Synthetic]) -> None:
    for syn in synthetic:
        cid = syn.collection["id"]
        record = VersionRecord(
            cid, 1, f"{cid}/bench.zarr", "0" * 64, "0" * 64, datetime.now(UTC), ()
        )
        backend.publish(syn.collection, [], record)


def _rows(synthetic: list[Synthetic]) -> Iterator[tuple[Any, ...]]:
    for syn in synthetic:
        for item in syn.items():
            p = item["properties"]
            b = item["bbox"]
            yield (
                syn.collection["id"],
                1,
                item["id"],
                p.get("start_datetime"),
                p.get("end_datetime"),
                b[0],
                b[1],
                b[2],
                b[3],
                json.dumps(item),
            )


def load_postgresql(url: str, synthetic: list[Synthetic]) -> None:
    """Load into PostgreSQL: collections through publish, items by COPY, GiST index after."""
    backend = SQLCatalogBackend(url)
    backend.init()
    _publish_collections(backend, synthetic)
    migrate.downgrade(backend.engine, "0001")  # bulk load without the GiST index ...
    raw = backend.engine.raw_connection()
    try:
        cur = raw.cursor()
        columns = 'collection_id, version, item_id, start, "end", minx, miny, maxx, maxy, doc'
        with cur.copy(f"COPY sco_items ({columns}) FROM STDIN") as copy_:  # type: ignore[attr-defined]
            for row in _rows(synthetic):
                copy_.write_row(row)
        raw.commit()
    finally:
        raw.close()
    migrate.upgrade(backend.engine)  # ... which revision 0002 then builds in one pass
    with backend.engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    backend.close()


def load_sqlite(url: str, synthetic: list[Synthetic]) -> None:
    """Load into SQLite: collections through publish, items and R*Tree in batched inserts."""
    backend = SQLCatalogBackend(url)
    backend.init()
    _publish_collections(backend, synthetic)
    raw = backend.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("PRAGMA synchronous=OFF")
        cur.execute("BEGIN")
        batch: list[tuple[Any, ...]] = []
        for pk, row in enumerate(_rows(synthetic), start=1):
            batch.append((pk, *row))
            if len(batch) == 50_000:
                _sqlite_batch(cur, batch)
                batch = []
        _sqlite_batch(cur, batch)
        cur.execute("COMMIT")
        cur.execute("ANALYZE")
    finally:
        raw.close()
    backend.close()


def _sqlite_batch(cur: Any, batch: list[tuple[Any, ...]]) -> None:
    cur.executemany(
        'INSERT INTO sco_items (pk, collection_id, version, item_id, start, "end", '
        "minx, miny, maxx, maxy, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        batch,
    )
    cur.executemany(
        "INSERT INTO sco_items_rtree (pk, minx, maxx, miny, maxy) VALUES (?, ?, ?, ?, ?)",
        [(r[0], r[6], r[8], r[7], r[9]) for r in batch],
    )


# -- searching ------------------------------------------------------------------------------------
def workload(synthetic: list[Synthetic], count: int, seed: int) -> dict[str, list[SearchQuery]]:
    """Return *count* random queries of each kind (the same for every backend)."""
    rng = random.Random(seed)
    timed = [s for s in synthetic if s.start is not None and s.end is not None]
    queries: dict[str, list[SearchQuery]] = {k: [] for k in QUERY_KINDS}
    for _ in range(count):
        syn = rng.choice(timed)
        assert syn.start is not None and syn.end is not None
        w, s = rng.uniform(-180, 140), rng.uniform(-80, 50)
        bbox = (w, s, w + 40, s + 30)
        span = max(0.0, (syn.end - syn.start).total_seconds() - 31 * 86400)
        start = syn.start + timedelta(seconds=rng.uniform(0, span))
        month = SearchQuery(
            bbox=bbox,
            start=start,
            end=start + timedelta(days=31),
            collections=(syn.collection["id"],),
            limit=100,
        )
        day = SearchQuery(bbox=bbox, start=start, end=start + timedelta(days=1), limit=100)
        queries["bbox+datetime+collection"].append(month)
        queries["bbox+datetime"].append(day)
        queries["collection, first page"].append(
            SearchQuery(collections=(syn.collection["id"],), limit=100)
        )
        queries["bbox only"].append(SearchQuery(bbox=bbox, limit=100))
    queries["bbox only"] = queries["bbox only"][: max(5, count // 10)]
    return queries


def measure(url: str, queries: dict[str, list[SearchQuery]]) -> dict[str, tuple[float, ...]]:
    """Return (median ms, p95 ms, mean matched, mean returned) of each query kind."""
    backend = SQLCatalogBackend(url)
    try:
        for q in queries["bbox+datetime+collection"][:10]:  # warm the caches
            backend.search(q)
        out: dict[str, tuple[float, ...]] = {}
        for kind, qs in queries.items():
            times, matched, returned = [], [], []
            for q in qs:
                t0 = time.perf_counter()
                result = backend.search(q)
                times.append((time.perf_counter() - t0) * 1000)
                matched.append(result.matched)
                returned.append(len(result.features))
            times.sort()
            p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
            out[kind] = (
                statistics.median(times),
                p95,
                statistics.mean(matched),
                statistics.mean(returned),
            )
        return out
    finally:
        backend.close()


# -- driving it -----------------------------------------------------------------------------------
def _count(url: str) -> int:
    backend = SQLCatalogBackend(url)
    try:
        with backend.engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM sco_items")).scalar() or 0)
    except Exception:  # noqa: BLE001 - an empty or missing database counts as unloaded
        return -1
    finally:
        backend.close()


def prepare(kind: str, n: int, args: argparse.Namespace, synthetic: list[Synthetic]) -> str:
    """Create and load the database of *kind* with *n* items (or reuse it); return its URL."""
    if kind == "postgresql":
        name = f"sco_bench_{n}"
        admin = create_engine(args.admin_url, isolation_level="AUTOCOMMIT")
        base = args.admin_url.rsplit("/", 1)[0]
        url = f"{base}/{name}"
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
            if exists.scalar() and args.reuse and _count(url) == n:
                admin.dispose()
                return url
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        loader = load_postgresql
    else:
        path = Path(args.sqlite_dir) / f"sco_bench_{n}.db"
        url = f"sqlite:///{path}"
        if path.exists() and args.reuse and _count(url) == n:
            return url
        for old in path.parent.glob(f"{path.name}*"):
            old.unlink()
        loader = load_sqlite
    t0 = time.perf_counter()
    loader(url, synthetic)
    print(f"  loaded {n:,} items into {kind} in {time.perf_counter() - t0:.0f} s", flush=True)
    return url


def drop(kind: str, n: int, args: argparse.Namespace) -> None:
    """Remove the benchmark database of *kind* with *n* items."""
    if kind == "postgresql":
        admin = create_engine(args.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "sco_bench_{n}"'))
        admin.dispose()
    else:
        for old in Path(args.sqlite_dir).glob(f"sco_bench_{n}.db*"):
            old.unlink()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print one table row per backend, size and query kind."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--backends", nargs="+", default=["postgresql", "sqlite"])
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--sqlite-dir", default=tempfile.gettempdir())
    parser.add_argument("--hub", type=Path, default=None, help="hub with the samples ingested")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=20260701)
    parser.add_argument("--reuse", action="store_true", help="reuse loaded databases")
    parser.add_argument("--drop", action="store_true", help="drop the databases afterwards")
    args = parser.parse_args(argv)
    tpls = templates(source_hub(args.hub))
    print(f"{len(tpls)} real collections as templates", flush=True)
    rows: list[tuple[Any, ...]] = []
    for n in args.items:
        synthetic = grow(tpls, n)
        queries = workload(synthetic, args.queries, args.seed)
        print(f"{n:,} items in {len(synthetic)} collections", flush=True)
        for kind in args.backends:
            url = prepare(kind, n, args, synthetic)
            for qkind, (median, p95, matched, returned) in measure(url, queries).items():
                rows.append((kind, n, qkind, median, p95, matched, returned))
                print(
                    f"  {kind:<10} {qkind:<26} median {median:8.1f} ms  p95 {p95:8.1f} ms",
                    flush=True,
                )
            if args.drop:
                drop(kind, n, args)
    print()
    print("| backend | items | query | median ms | p95 ms | mean matched | mean returned |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for kind, n, qkind, median, p95, matched, returned in rows:
        print(
            f"| {kind} | {n:,} | {qkind} | {median:.1f} | {p95:.1f} | {matched:,.0f} "
            f"| {returned:.0f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
