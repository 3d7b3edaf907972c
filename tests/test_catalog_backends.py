"""One conformance suite for every catalog backend: SQLite and PostgreSQL pass the same tests.

The records are real. A few bundled samples are ingested into a scratch SQLite hub (two
collections get a second version), and every version's collection document, version record
and items, read from that hub's tables with ``sqlite3``, are published into a fresh catalog
of each backend. Expected results are computed independently, in Python, from those
documents (see ``Oracle``).

PostgreSQL is the server at ``SCO_TEST_POSTGRESQL_URL`` (default: the local server, user
``postgres``); the suite creates a database of its own for each catalog and drops it after.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import shapely
from sqlalchemy import event, inspect, text
from typer.testing import CliRunner

from spaceclimate.catalog import SearchQuery, open_catalog
from spaceclimate.catalog.base import SourceRecord, VersionRecord
from spaceclimate.catalog.filters import (
    And,
    Between,
    Compare,
    Expr,
    In,
    Intersects,
    IsNull,
    Like,
    Not,
    Or,
    SortKey,
)
from spaceclimate.catalog.sql import SQLCatalogBackend
from spaceclimate.config import Settings
from spaceclimate.db import migrate
from spaceclimate.errors import ConflictError, InputError, NotFoundError
from spaceclimate.ingest import Ingestor
from spaceclimate.jobs.store import JobStore

from . import services

BACKENDS = ["sqlite", "postgresql"]

#: Ingests making the real records, in order; two collections get a second version.
INGESTS = [
    ["sst/sst_ostia_l4_anom_daily_20170605.nc"],
    ["sst/sst_ostia_l4_anom_daily_20170606.nc", "sst/sst_ostia_l4_anom_daily_20170607.nc"],
    [f"soil_moisture/sm_esacci_combined_v02.2_1978111{d}.nc" for d in (4, 5, 6)],
    ["soil_moisture/sm_esacci_combined_v02.2_20000101.nc"],
    ["sea_ice/seaice_conc_cdr_v4_monthly_nh_202112.nc"],
    ["sea_ice/seaice_conc_cdr_v4_monthly_sh_202112.nc"],
    ["sea_level/gmsl_csiro_altimetry_monthly_1993-2020.csv"],
    ["sea_level/mss_cnes_cls_v2_quarterdeg.nc"],
    ["ice_sheets/grace_antarctica_mass_200204_202112.txt"],
    ["ozone/o3_esacci_total_column_merged_200505_subset.nc"],
    ["snow/snow_modis_mod10a2_h09v05_2022033_max_snow_extent_cog.tif"],
    ["ocean_salinity/sss_aquarius_cap_v3.0_monthly_201401_1deg.nc"],
]


# -- the real records -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Published:
    """One version as published: collection document, items and version record."""

    collection: dict[str, Any]
    items: list[dict[str, Any]]
    version: VersionRecord


def _stamp(text_: str) -> datetime:
    return datetime.fromisoformat(text_.replace("Z", "+00:00"))


def read_hub(catalog_db: Path) -> list[Published]:
    """Every version of every collection of a hub, read straight from its SQLite tables."""
    con = sqlite3.connect(catalog_db)
    try:
        out = []
        rows = con.execute(
            "SELECT collection_id, version, cube_href, fingerprint, recipe_digest, created, "
            "sources, cube_checksums, doc FROM sco_collection_versions "
            "ORDER BY collection_id, version"
        ).fetchall()
        for cid, ver, href, fingerprint, digest, created, sources, checksums, doc in rows:
            items = [
                json.loads(d)
                for (d,) in con.execute(
                    "SELECT doc FROM sco_items WHERE collection_id = ? AND version = ? ORDER BY pk",
                    (cid, ver),
                )
            ]
            record = VersionRecord(
                collection_id=cid,
                version=ver,
                cube_href=href,
                fingerprint=fingerprint,
                recipe_digest=digest,
                created=_stamp(created),
                sources=tuple(SourceRecord(**s) for s in json.loads(sources)),
                cube_checksums=json.loads(checksums),
            )
            out.append(Published(json.loads(doc), items, record))
        return out
    finally:
        con.close()


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory, samples: Path) -> list[Published]:
    """The real records: samples ingested into a scratch SQLite hub, read back."""
    home = tmp_path_factory.mktemp("records-hub")
    settings = Settings(home=home, catalog_url=f"sqlite:///{home / 'catalog.db'}")
    for paths in INGESTS:
        ingestor = Ingestor(settings)
        try:
            results = ingestor.ingest([samples / p for p in paths])
        finally:
            ingestor.close()
        assert [r.status for r in results] == ["published"]
    published = read_hub(home / "catalog.db")
    assert {p.collection["id"] for p in published if p.version.version == 2} == {
        "ukmo-ostia-sst-daily",
        "esa-cci-sm-combined",
    }
    return published


# -- databases ------------------------------------------------------------------------------------
@contextmanager
def fresh_database(kind: str, tmp: Path) -> Iterator[str]:
    """Yield the URL of a new, empty database of *kind*; drop it afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp / f'catalog-{uuid.uuid4().hex[:8]}.db'}"
        return
    with services.fresh_database("sco_test") as url:
        yield url


def publish_all(backend: Any, published: list[Published]) -> None:
    """Publish every record, oldest version first."""
    for p in published:
        backend.publish(p.collection, p.items, p.version)


@pytest.fixture(scope="module", params=BACKENDS)
def catalog(
    request: pytest.FixtureRequest,
    records: list[Published],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[SQLCatalogBackend]:
    """A catalog of each backend holding every real record (tests must leave it as found)."""
    with fresh_database(request.param, tmp_path_factory.mktemp("cat")) as url:
        backend = open_catalog(url)
        assert isinstance(backend, SQLCatalogBackend)
        publish_all(backend, records)
        yield backend
        backend.close()


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a new empty database of each backend (for tests that change the catalog)."""
    with fresh_database(request.param, tmp_path) as url:
        yield url


# -- an independent model of search ---------------------------------------------------------------
class Oracle:
    """What search must return, computed in Python from the published documents."""

    def __init__(self, published: list[Published]) -> None:
        latest: dict[str, Published] = {}
        for p in published:
            latest[p.collection["id"]] = p  # records are oldest first
        self.latest = latest
        self.items = [(p.collection, item) for p in latest.values() for item in p.items]

    @staticmethod
    def span(item: dict[str, Any]) -> tuple[datetime | None, datetime | None]:
        """An item's time range as the filters define it."""
        props = item["properties"]
        start = props.get("start_datetime") or props.get("datetime")
        end = props.get("end_datetime") or props.get("datetime")
        return (_stamp(start) if start else None, _stamp(end) if end else None)

    @staticmethod
    def agencies(col: dict[str, Any]) -> str:
        """The agencies a collection matches, lower case."""
        names = list(col.get("sco:agencies", [])) + [p["name"] for p in col.get("providers", [])]
        return "|".join(n.lower() for n in names)

    @staticmethod
    def words(col: dict[str, Any]) -> str:
        """The free text of a collection, lower case."""
        parts = [col["id"], col.get("title", ""), col.get("description", "")]
        return " ".join(parts + list(col.get("keywords", []))).lower()

    @staticmethod
    def text_ok(q: str | None, haystacks: list[str]) -> bool:
        """Free text: all words of one comma-separated group appear in one of *haystacks*."""
        if not q:
            return True
        groups = [g.split() for g in q.lower().split(",") if g.split()]
        return any(all(any(w in h for h in haystacks) for w in ws) for ws in groups)

    @staticmethod
    def boxes_meet(a: list[float], b: tuple[float, ...]) -> bool:
        """Closed bounding boxes intersect."""
        return a[0] <= b[2] and a[2] >= b[0] and a[1] <= b[3] and a[3] >= b[1]

    def item_matches(self, col: dict[str, Any], item: dict[str, Any], q: SearchQuery) -> bool:
        """Whether *item* of *col* answers *q*."""
        start, end = self.span(item)
        checks = [
            q.collections is None or item["collection"] in q.collections,
            q.ids is None or item["id"] in q.ids,
            q.ecv is None or str(col.get("sco:ecv", "")).lower() == q.ecv.lower(),
            q.agency is None or q.agency.lower() in self.agencies(col),
            q.bbox is None or self.boxes_meet(item["bbox"], q.bbox),
            self.text_ok(q.q, [self.words(col), item["id"].lower()]),
            q.filter is None or evaluate(q.filter, item) is True,
        ]
        if q.start is not None or q.end is not None:
            checks += [
                start is not None,
                q.end is None or (start is not None and start <= q.end),
                q.start is None or end is None or end >= q.start,
            ]
        return all(checks)

    def search(self, q: SearchQuery) -> list[str]:
        """Ids of every matching item, in search order (sort keys, then the default order)."""
        found = [item for col, item in self.items if self.item_matches(col, item, q)]
        found.sort(
            key=lambda it: (
                it["collection"],
                self.span(it)[0] is not None,
                self.span(it)[0] or datetime.min.replace(tzinfo=UTC),
                it["id"],
            )
        )
        for key in reversed(q.sortby):  # stable sorts, least significant first
            present = [it for it in found if sort_value(it, key) is not None]
            missing = [it for it in found if sort_value(it, key) is None]
            present.sort(key=lambda it, k=key: sort_value(it, k), reverse=key.descending)  # type: ignore[misc]
            found = present + missing  # nulls last in both directions
        return [it["id"] for it in found]

    def collections(self, q: SearchQuery) -> list[str]:
        """Ids of the collections answering a collection search, sorted."""
        out = []
        for cid, p in sorted(self.latest.items()):
            col = p.collection
            start, end = col["extent"]["temporal"]["interval"][0]
            checks = [
                q.ids is None or cid in q.ids,
                q.collections is None or cid in q.collections,
                q.ecv is None or str(col.get("sco:ecv", "")).lower() == q.ecv.lower(),
                q.agency is None or q.agency.lower() in self.agencies(col),
                q.bbox is None or self.boxes_meet(col["extent"]["spatial"]["bbox"][0], q.bbox),
                self.text_ok(q.q, [self.words(col)]),
                q.start is None or end is None or _stamp(end) >= q.start,
                q.end is None or start is None or _stamp(start) <= q.end,
            ]
            if all(checks):
                out.append(cid)
        return out


def prop(item: dict[str, Any], name: str) -> Any:
    """An item property as the filters name it."""
    start, end = Oracle.span(item)
    if name in ("datetime", "start_datetime"):
        return start
    if name == "end_datetime":
        return end
    if name in ("id", "collection"):
        return item[name]
    return item["properties"].get(name)


def sort_value(item: dict[str, Any], key: SortKey) -> Any:
    """The value an item sorts by for *key*."""
    return prop(item, key.prop)


def _like(value: str, pattern: str) -> bool:
    import re

    regex, chars = "", iter(pattern)
    for ch in chars:
        if ch == "\\":
            regex += re.escape(next(chars, "\\"))
        else:
            regex += {"%": ".*", "_": "."}.get(ch, re.escape(ch))
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None


def evaluate(expr: Expr, item: dict[str, Any]) -> bool | None:
    """Three-valued evaluation of a filter on one item (None: unknown)."""
    if isinstance(expr, And):
        values = [evaluate(a, item) for a in expr.args]
        return False if False in values else (None if None in values else True)
    if isinstance(expr, Or):
        values = [evaluate(a, item) for a in expr.args]
        return True if True in values else (None if None in values else False)
    if isinstance(expr, Not):
        value = evaluate(expr.arg, item)
        return None if value is None else not value
    if isinstance(expr, Intersects):
        return shapely.from_geojson(json.dumps(item["geometry"])).intersects(
            shapely.from_geojson(expr.geojson)
        )
    if isinstance(expr, IsNull):
        return prop(item, expr.prop) is None
    value = prop(item, expr.prop)
    if value is None:
        return None
    if isinstance(expr, Compare):
        ops: dict[str, Callable[[Any, Any], bool]] = {
            "=": lambda a, b: a == b,
            "<>": lambda a, b: a != b,
            "<": lambda a, b: a < b,
            "<=": lambda a, b: a <= b,
            ">": lambda a, b: a > b,
            ">=": lambda a, b: a >= b,
        }
        return ops[expr.op](value, expr.value)
    if isinstance(expr, Between):
        return bool(expr.low <= value <= expr.high)  # type: ignore[operator]
    if isinstance(expr, In):
        return value in expr.values
    if isinstance(expr, Like):
        return _like(str(value), expr.pattern)
    raise TypeError(expr)


@pytest.fixture(scope="module")
def oracle(records: list[Published]) -> Oracle:
    """The independent model of the published records."""
    return Oracle(records)


def _day(y: int, m: int, d: int, h: int = 0) -> datetime:
    return datetime(y, m, d, h, tzinfo=UTC)


def _geometry(geometry: dict[str, Any]) -> Intersects:
    bounds = tuple(float(v) for v in shapely.from_geojson(json.dumps(geometry)).bounds)
    return Intersects.from_geometry(geometry, bounds)  # type: ignore[arg-type]


def _ring(w: float, s: float, e: float, n: float) -> list[list[float]]:
    return [[w, s], [e, s], [e, n], [w, n], [w, s]]


# -- publishing and versions ----------------------------------------------------------------------
def test_versions_round_trip(catalog: SQLCatalogBackend, records: list[Published]) -> None:
    by_collection: dict[str, list[VersionRecord]] = {}
    for p in records:
        by_collection.setdefault(p.collection["id"], []).append(p.version)
    for cid, versions in by_collection.items():
        assert catalog.versions(cid) == versions
        assert catalog.latest_version(cid) == versions[-1]
    assert catalog.latest_version("no-such-collection") is None
    assert catalog.versions("no-such-collection") == []
    assert catalog.referenced_cubes() == {p.version.cube_href for p in records}


def test_collection_documents_by_version(
    catalog: SQLCatalogBackend, records: list[Published], oracle: Oracle
) -> None:
    for p in records:
        cid, version = p.collection["id"], p.version.version
        assert catalog.get_collection_version(cid, version) == p.collection
    for cid, p in oracle.latest.items():
        assert catalog.get_collection(cid) == p.collection
    assert [c["id"] for c in catalog.list_collections()] == sorted(oracle.latest)
    with pytest.raises(NotFoundError, match="no-such"):
        catalog.get_collection("no-such")
    with pytest.raises(NotFoundError, match="version 9"):
        catalog.get_collection_version("ukmo-ostia-sst-daily", 9)


def test_publish_refuses_wrong_versions_and_changes_nothing(
    catalog: SQLCatalogBackend, records: list[Published], oracle: Oracle
) -> None:
    latest = oracle.latest["ukmo-ostia-sst-daily"]
    before = catalog.search(SearchQuery(limit=1000))
    for number in (1, 2, 4):  # latest is 2: only 3 would be next
        record = VersionRecord(
            **{
                **latest.version.__dict__,
                "version": number,
                "cube_href": f"ukmo-ostia-sst-daily/v{number}.zarr",
            }
        )
        with pytest.raises(ConflictError, match="ukmo-ostia-sst-daily"):
            catalog.publish(latest.collection, latest.items, record)
    with pytest.raises(InputError, match="disagree"):
        catalog.publish(oracle.latest["cnes-cls-mss"].collection, [], latest.version)
    assert catalog.latest_version("ukmo-ostia-sst-daily") == latest.version
    assert catalog.search(SearchQuery(limit=1000)) == before
    assert catalog.referenced_cubes() == {p.version.cube_href for p in records}


def test_publish_is_all_or_nothing(
    catalog: SQLCatalogBackend, records: list[Published], oracle: Oracle
) -> None:
    source = oracle.latest["esa-cci-sm-combined"]
    cid = "atomicity-probe"
    collection = {**source.collection, "id": cid}
    items = [{**it, "collection": cid} for it in source.items]
    record = VersionRecord(
        **{
            **source.version.__dict__,
            "collection_id": cid,
            "version": 1,
            "cube_href": f"{cid}/v1.zarr",
        }
    )
    backwards = {
        **items[1],
        "properties": {
            **items[1]["properties"],
            "start_datetime": "2001-01-02T00:00:00Z",
            "end_datetime": "2001-01-01T00:00:00Z",
        },
    }
    attempts = [
        (items + [items[0]], ConflictError),  # an item id twice: the database refuses the last
        ([items[0], backwards], InputError),  # a time range that ends before it starts
    ]
    for bad_items, error in attempts:
        with pytest.raises(error):
            catalog.publish(collection, bad_items, record)
        assert catalog.latest_version(cid) is None
        with pytest.raises(NotFoundError):
            catalog.get_collection(cid)
        assert catalog.search(SearchQuery(collections=(cid,))).matched == 0
    assert catalog.referenced_cubes() == {p.version.cube_href for p in records}


def test_concurrent_publishers_of_one_version_one_wins(
    empty_url: str, records: list[Published]
) -> None:
    first = next(p for p in records if p.collection["id"] == "esa-cci-sm-combined")
    backend = open_catalog(empty_url)
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def publish() -> None:
        barrier.wait()
        try:
            backend.publish(first.collection, first.items, first.version)
            outcomes.append("published")
        except ConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=publish) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert sorted(outcomes) == ["conflict"] * 3 + ["published"]
        result = backend.search(SearchQuery(collections=("esa-cci-sm-combined",)))
        assert sorted(f["id"] for f in result.features) == sorted(i["id"] for i in first.items)
    finally:
        backend.close()


# -- reading --------------------------------------------------------------------------------------
def test_items_and_pages(catalog: SQLCatalogBackend, oracle: Oracle) -> None:
    for cid, p in oracle.latest.items():
        for item in p.items:
            assert catalog.get_item(cid, item["id"]) == item
        expected = oracle.search(SearchQuery(collections=(cid,)))
        pages = [catalog.list_items(cid, limit=2, offset=k) for k in range(0, len(expected), 2)]
        assert all(page.matched == len(expected) for page in pages)
        assert [f["id"] for page in pages for f in page.features] == expected
    with pytest.raises(NotFoundError, match="no-such-item"):
        catalog.get_item("ukmo-ostia-sst-daily", "no-such-item")
    with pytest.raises(NotFoundError):
        catalog.get_item("no-such-collection", "sst_ostia_l4_anom_daily_20170605")
    assert catalog.list_items("no-such-collection", limit=10, offset=0).matched == 0


SM_15 = "sm_esacci_combined_v02.2_19781115"
SEARCHES = {
    "everything": SearchQuery(limit=1000),
    "arctic box": SearchQuery(bbox=(-30, 70, 30, 85)),
    "arctic sea ice": SearchQuery(bbox=(-30, 70, 30, 85), ecv="sea_ice"),
    "southern ocean": SearchQuery(bbox=(-180, -90, 180, -70)),
    "box touching the ozone subset's corner": SearchQuery(bbox=(41, 41, 50, 50)),
    "one june day": SearchQuery(start=_day(2017, 6, 6), end=_day(2017, 6, 6, 23)),
    "one instant": SearchQuery(start=_day(2017, 6, 6, 12), end=_day(2017, 6, 6, 12)),
    "from an item's last second": SearchQuery(
        start=datetime(2017, 6, 5, 23, 59, 59, tzinfo=UTC), end=_day(2017, 6, 6)
    ),
    "open start": SearchQuery(end=_day(1978, 11, 14, 12)),
    "open end": SearchQuery(start=_day(2021, 12, 15)),
    "time and box": SearchQuery(
        bbox=(-120, 30, -100, 40), start=_day(2022, 2, 5), end=_day(2022, 3, 1)
    ),
    "collections": SearchQuery(collections=("esa-cci-sm-combined", "cnes-cls-mss")),
    "collections, one unknown, one twice": SearchQuery(
        collections=("no-such", "ukmo-ostia-sst-daily", "cnes-cls-mss", "ukmo-ostia-sst-daily")
    ),
    "ids": SearchQuery(ids=(SM_15, "sst_ostia_l4_anom_daily_20170607")),
    "nothing: ids of another collection": SearchQuery(
        collections=("ukmo-ostia-sst-daily",), ids=(SM_15,)
    ),
    "ecv": SearchQuery(ecv="Sea_Level"),
    "agency": SearchQuery(agency="esa"),
    "agency and time": SearchQuery(agency="NASA", start=_day(2010, 1, 1), end=_day(2015, 1, 1)),
    "free text": SearchQuery(q="antarctic"),
    "free text groups": SearchQuery(q="ozone total, sea ice northern"),
    "free text on item ids": SearchQuery(q="19781116"),
    "nothing: unknown words": SearchQuery(q="no-such-words-anywhere"),
}


@pytest.mark.parametrize("name", list(SEARCHES))
def test_search(catalog: SQLCatalogBackend, oracle: Oracle, name: str) -> None:
    query = SEARCHES[name]
    expected = oracle.search(query)
    result = catalog.search(query)
    assert [f["id"] for f in result.features] == expected
    assert result.matched == len(expected)
    if not name.startswith("nothing"):
        assert expected, "a search of the suite should find something"


def test_search_refuses_swapped_bbox_corners(catalog: SQLCatalogBackend) -> None:
    for search in (catalog.search, catalog.search_collections):
        with pytest.raises(InputError, match="bbox"):
            search(SearchQuery(bbox=(170, -10, -170, 10)))


def test_search_sees_only_latest_versions(catalog: SQLCatalogBackend, oracle: Oracle) -> None:
    result = catalog.search(SearchQuery(collections=("ukmo-ostia-sst-daily",)))
    assert {f["properties"]["sco:version"] for f in result.features} == {2}
    everything = catalog.search(SearchQuery(limit=1000))
    assert everything.matched == len(oracle.items)


def test_paging_covers_every_item_once(catalog: SQLCatalogBackend, oracle: Oracle) -> None:
    expected = oracle.search(SearchQuery())
    seen: list[str] = []
    for offset in range(0, len(expected) + 3, 3):
        page = catalog.search(SearchQuery(limit=3, offset=offset))
        assert page.matched == len(expected)
        seen += [f["id"] for f in page.features]
    assert seen == expected


def test_count_stops_at_the_count_limit(catalog: SQLCatalogBackend, oracle: Oracle) -> None:
    expected = oracle.search(SearchQuery())
    limit, count_limit = 3, 5
    assert len(expected) > count_limit + 2 * limit  # some pages are past the count limit
    seen: list[str] = []
    for offset in range(0, len(expected) + limit, limit):
        page = catalog.search(SearchQuery(limit=limit, offset=offset, count_limit=count_limit))
        seen += [f["id"] for f in page.features]
        end = offset + len(page.features)
        cap = max(count_limit, end + 1)  # counted up to here, at least one past the page
        if end >= len(expected) or len(expected) < cap:
            assert page.matched_exact and page.matched == len(expected), offset
        else:
            assert not page.matched_exact and page.matched == cap > end, offset
    assert seen == expected
    exact = catalog.search(SearchQuery(limit=limit))
    assert exact.matched_exact and exact.matched == len(expected)


def _statements(catalog: SQLCatalogBackend, query: SearchQuery) -> list[str]:
    """The queries that one search runs."""
    statements: list[str] = []

    def capture(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(catalog.engine, "before_cursor_execute", capture)
    try:
        catalog.search(query)
    finally:
        event.remove(catalog.engine, "before_cursor_execute", capture)
    return statements


def test_a_page_ending_the_matches_is_not_counted(
    catalog: SQLCatalogBackend, oracle: Oracle
) -> None:
    sm = SearchQuery(collections=("esa-cci-sm-combined",), limit=100)
    count = len(oracle.search(sm))
    assert 2 < count < 100
    # the page holds every match (nothing to count) and items of the one collection named
    assert len(_statements(catalog, sm)) == 1
    assert catalog.search(sm).matched == count
    more = SearchQuery(collections=("esa-cci-sm-combined",), limit=2)
    statements = _statements(catalog, more)
    assert len(statements) == 2 and "count" in statements[1].lower()
    none_here = SearchQuery(collections=("esa-cci-sm-combined",), ids=("no-such-item",))
    assert len(_statements(catalog, none_here)) == 2  # no item: is the collection known?
    past = SearchQuery(collections=("esa-cci-sm-combined",), limit=2, offset=count + 5)
    result = catalog.search(past)
    assert result.features == [] and result.matched == count and result.matched_exact


def test_collection_ids_and_unknown_collections(catalog: SQLCatalogBackend, oracle: Oracle) -> None:
    assert catalog.collection_ids() == sorted(oracle.latest)
    named = ("no-such", "esa-cci-sm-combined", "other", "no-such")
    result = catalog.search(SearchQuery(collections=named))
    assert result.unknown_collections == ("no-such", "other")
    assert [f["id"] for f in result.features] == oracle.search(SearchQuery(collections=named))
    none = catalog.search(SearchQuery(collections=("no-such",)))
    assert (none.features, none.matched, none.unknown_collections) == ([], 0, ("no-such",))
    assert catalog.search(SearchQuery(collections=("cnes-cls-mss",))).unknown_collections == ()


TRIANGLE_MISSING_OZONE = {"type": "Polygon", "coordinates": [[[0, 85], [85, 0], [0, 86], [0, 85]]]}
DONUT_AROUND_MODIS_TILE = {
    "type": "Polygon",
    "coordinates": [_ring(-130, 20, -80, 50), _ring(-120, 28, -90, 42)[::-1]],
}
FILTERS: dict[str, Expr] = {
    "like, case-sensitive": Like("id", "sst_%"),
    "like, other case": Like("id", "SST_%"),
    "like, escaped underscore": Like("id", "sm\\_esacci\\_combined\\_v02.2\\_1978111_"),
    "between datetimes": Between("datetime", _day(2000, 1, 1), _day(2018, 1, 1)),
    "in collections": In("collection", ("esa-cci-sm-combined", "cnes-cls-mss")),
    "end is null": IsNull("end_datetime"),
    "missing property is null": IsNull("sco:first_time"),
    "number": Compare("sco:version", ">=", 2),
    "number, not equal": Compare("sco:time_steps", "<>", 1),
    "boolean": Compare("sco:static", "=", True),
    "string property": Compare("sco:ecv", "=", "sea_ice"),
    "not": Not(Compare("sco:ecv", "=", "sea_ice")),
    "not with nulls": Not(Compare("sco:time_steps", ">", 1)),
    "or": Or((Compare("sco:time_steps", ">", 100), Like("id", "%nh%"))),
    "and": And((Compare("datetime", ">=", _day(2017, 6, 6)), Compare("sco:version", "=", 2))),
    "intersects a point": _geometry({"type": "Point", "coordinates": [0, -80]}),
    "intersects a line inside a tile": _geometry(
        {"type": "LineString", "coordinates": [[-100, 35], [-95, 36]]}
    ),
    "triangle missing the ozone box": _geometry(TRIANGLE_MISSING_OZONE),
    "donut around the modis tile": _geometry(DONUT_AROUND_MODIS_TILE),
    "multipolygon": _geometry(
        {
            "type": "MultiPolygon",
            "coordinates": [[_ring(25, 25, 26, 26)], [_ring(-150, -75, -140, -70)]],
        }
    ),
    "not intersects": Not(_geometry({"type": "Point", "coordinates": [30, 30]})),
}


@pytest.mark.parametrize("name", list(FILTERS))
def test_filters(catalog: SQLCatalogBackend, oracle: Oracle, name: str) -> None:
    query = SearchQuery(filter=FILTERS[name], limit=1000)
    expected = oracle.search(query)
    result = catalog.search(query)
    assert [f["id"] for f in result.features] == expected
    assert result.matched == len(expected)


def test_geometry_cases_are_discriminating(oracle: Oracle) -> None:
    """The geometry filters above test more than bounding boxes (checked on the model)."""
    ozone = oracle.latest["esa-cci-ozone-tc"].items[0]
    modis = oracle.latest["nasa-modis-snow-mod10a2"].items[0]
    triangle, donut = (
        FILTERS["triangle missing the ozone box"],
        FILTERS["donut around the modis tile"],
    )
    assert isinstance(triangle, Intersects) and isinstance(donut, Intersects)
    assert Oracle.boxes_meet(ozone["bbox"], triangle.bounds) and not evaluate(triangle, ozone)
    assert Oracle.boxes_meet(modis["bbox"], donut.bounds) and not evaluate(donut, modis)


SORTS = {
    "datetime descending": (SortKey("datetime", descending=True, kind="datetime"),),
    "version then id": (SortKey("sco:version", descending=True, kind="number"), SortKey("id")),
    "id": (SortKey("id"),),
    "end ascending": (SortKey("end_datetime", kind="datetime"),),
}


@pytest.mark.parametrize("name", list(SORTS))
def test_sortby(catalog: SQLCatalogBackend, oracle: Oracle, name: str) -> None:
    query = SearchQuery(sortby=SORTS[name], limit=1000)
    expected = oracle.search(query)
    assert [f["id"] for f in catalog.search(query).features] == expected
    page = catalog.search(SearchQuery(sortby=SORTS[name], limit=4, offset=3))
    assert [f["id"] for f in page.features] == expected[3:7]


COLLECTION_SEARCHES = {
    "everything": SearchQuery(),
    "arctic box": SearchQuery(bbox=(-30, 70, 30, 85)),
    "time": SearchQuery(start=_day(2014, 1, 15), end=_day(2014, 2, 1)),
    "ecv": SearchQuery(ecv="sea_ice"),
    "agency": SearchQuery(agency="ESA"),
    "text": SearchQuery(q="soil moisture"),
    "ids": SearchQuery(ids=("cnes-cls-mss", "no-such")),
    "box, time and agency": SearchQuery(bbox=(0, 0, 50, 50), start=_day(2005, 5, 10), agency="esa"),
}


@pytest.mark.parametrize("name", list(COLLECTION_SEARCHES))
def test_collection_search(catalog: SQLCatalogBackend, oracle: Oracle, name: str) -> None:
    query = COLLECTION_SEARCHES[name]
    expected = oracle.collections(query)
    result = catalog.search_collections(query)
    assert [c["id"] for c in result.features] == expected and result.matched == len(expected)
    assert expected
    page = catalog.search_collections(SearchQuery(**{**query.__dict__, "limit": 2, "offset": 1}))
    assert [c["id"] for c in page.features] == expected[1:3]


# -- the job store, in the same database ----------------------------------------------------------
def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_job_store(catalog: SQLCatalogBackend) -> None:
    import socket

    store = JobStore(catalog.url)
    try:
        job = store.create("regional-mean", {"collection": "ukmo-ostia-sst-daily"}, 60.0)
        assert store.get(job.id).status == "accepted" and job.inputs["collection"]
        queued = store.create("trend", {}, 30.0)
        owner = f"{socket.gethostname()}:{os.getpid()}"
        claimed = store.claim_next(owner)
        assert claimed is not None and claimed.id == job.id  # oldest first
        assert (claimed.status, claimed.owner, claimed.attempts) == ("running", owner, 1)
        assert store.report(job.id, 40, "halfway") is False
        assert (store.get(job.id).progress, store.get(job.id).message) == (40, "halfway")
        store.dismiss(job.id)
        assert store.report(job.id, 50, "still going") is True  # the runner learns to stop
        store.finish(job.id, "dismissed", "cancelled")
        assert store.dismiss(queued.id).status == "dismissed"
        third = store.create("trend", {"n": 3}, 30.0)
        store.finish(third.id, "successful", "done", {"href": "/jobs/x/results"})
        done = store.get(third.id)
        assert (done.status, done.progress, done.results) == (
            "successful",
            100,
            {"href": "/jobs/x/results"},
        )
        with pytest.raises(ConflictError):
            store.dismiss(third.id)
        dead = f"{socket.gethostname()}:{_dead_pid()}"
        orphan = store.create("trend", {"n": 4}, 30.0)
        assert store.claim_next(dead) is not None
        assert orphan.id in store.recover()
        assert store.get(orphan.id).status == "accepted"  # requeued once
        assert store.claim_next(dead) is not None and orphan.id in store.recover()
        assert store.get(orphan.id).status == "failed"  # the second death fails it
        sync = store.create("trend", {"n": 5}, 30.0, owner=owner)  # a synchronous execution
        assert (sync.status, sync.owner, sync.attempts) == ("running", owner, 1)
        assert store.claim_next("another:1") is None  # never queued: no worker can take it
        listed = {j.id for j in store.list_jobs(limit=100)}
        assert {job.id, queued.id, third.id, orphan.id, sync.id} <= listed
        with pytest.raises(NotFoundError):
            store.get("no-such-job")
    finally:
        with store.engine.begin() as conn:
            conn.execute(text("DELETE FROM sco_jobs"))
        store.close()


# -- schema, indexes, configuration ---------------------------------------------------------------
def test_schema_is_at_the_newest_migration(catalog: SQLCatalogBackend) -> None:
    with catalog.engine.connect() as conn:
        assert migrate.current_revision(conn) == migrate.head_revision()
        indexes = {ix["name"] for ix in inspect(conn).get_indexes("sco_items")}
    assert "ix_sco_items_collection_time" in indexes
    catalog.init()  # idempotent
    if not catalog.is_sqlite:
        assert "ix_sco_items_space_time" in indexes and "ix_sco_items_bbox" not in indexes


def _plans(catalog: SQLCatalogBackend, query: SearchQuery) -> str:
    """EXPLAIN output of the statements a search runs (PostgreSQL, sequential scans off)."""
    statements: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, params: Any, *_args: Any) -> None:
        statements.append((statement, params))

    event.listen(catalog.engine, "before_cursor_execute", capture)
    try:
        catalog.search(query)
    finally:
        event.remove(catalog.engine, "before_cursor_execute", capture)
    raw = catalog.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("SET enable_seqscan = off")
        lines = []
        for statement, params in statements:
            if "sco_items" in statement:
                cur.execute("EXPLAIN " + statement, params)
                lines += [row[0] for row in cur.fetchall()]
        raw.rollback()
        return "\n".join(lines)
    finally:
        raw.close()


def test_search_uses_the_spatial_indexes(catalog: SQLCatalogBackend) -> None:
    if catalog.is_sqlite:
        with catalog.engine.connect() as conn:
            counts = [
                conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()
                for table in ("sco_items", "sco_items_rtree")
            ]
        assert counts[0] == counts[1] > 0  # every version's items are in the R*Tree
        return
    space_time = _plans(
        catalog, SearchQuery(bbox=(-30, 70, 30, 85), start=_day(2017, 6, 6), end=_day(2017, 6, 7))
    )
    assert "ix_sco_items_space_time" in space_time
    geometry = _plans(catalog, SearchQuery(filter=FILTERS["triangle missing the ozone box"]))
    assert "ix_sco_items_space_time" in geometry
    page = _plans(catalog, SearchQuery(collections=("esa-cci-sm-combined",), limit=2))
    assert "ix_sco_items_collection_time" in page and "Sort" not in page.split("Limit")[-1]


def test_pool_settings_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SCO_CATALOG_POOL_SIZE", "3")
    monkeypatch.setenv("SCO_CATALOG_MAX_OVERFLOW", "2")
    monkeypatch.setenv("SCO_CATALOG_POOL_TIMEOUT", "7.5")
    with fresh_database("postgresql", tmp_path) as url:
        assert url.startswith("postgresql://")
        backend = open_catalog(url)
        try:
            assert backend.engine.dialect.driver == "psycopg"
            pool = backend.engine.pool
            assert (pool.size(), pool._max_overflow, pool._timeout) == (3, 2, 7.5)  # type: ignore[attr-defined]
            with backend.engine.connect() as conn:  # the pool serves connections
                assert conn.execute(text("SELECT 1")).scalar() == 1
        finally:
            backend.close()
    monkeypatch.setenv("SCO_CATALOG_POOL_SIZE", "0")
    with pytest.raises(ValueError, match="catalog_pool_size"):
        Settings()


# -- migrations -----------------------------------------------------------------------------------
def test_catalog_made_before_migrations_is_adopted(
    tmp_path: Path, records: list[Published]
) -> None:
    """A SQLite catalog created by ``metadata.create_all`` (no version table) keeps working."""
    from spaceclimate.db import schema

    url = f"sqlite:///{tmp_path / 'legacy.db'}"
    legacy = SQLCatalogBackend(url)  # not initialised: build the old schema by hand
    with legacy.engine.begin() as conn:
        # the catalog's tables only: the other tables came with later migrations
        schema.metadata.create_all(conn, tables=[schema.collections, schema.versions, schema.items])
        conn.execute(text(schema.SQLITE_RTREE))
    first = [p for p in records if p.version.version == 1]
    publish_all(legacy, first)
    legacy.close()
    adopted = open_catalog(url)
    try:
        with adopted.engine.connect() as conn:
            assert migrate.current_revision(conn) == migrate.head_revision()
        assert [c["id"] for c in adopted.list_collections()] == sorted(
            p.collection["id"] for p in first
        )
        arctic = adopted.search(SearchQuery(bbox=(-30, 70, 30, 85)))
        expected = Oracle(first).search(SearchQuery(bbox=(-30, 70, 30, 85)))
        assert [f["id"] for f in arctic.features] == expected
        second = [p for p in records if p.version.version == 2]
        publish_all(adopted, second)
        for p in second:
            assert adopted.latest_version(p.collection["id"]) == p.version
    finally:
        adopted.close()


def test_migrations_go_down_and_up(empty_url: str, records: list[Published]) -> None:
    backend = open_catalog(empty_url)
    assert isinstance(backend, SQLCatalogBackend)
    try:
        assert migrate.downgrade(backend.engine, "base") == (migrate.head_revision(), None)
        with backend.engine.connect() as conn:
            assert not {"sco_items", "sco_collections"} & set(inspect(conn).get_table_names())
        assert migrate.upgrade(backend.engine) == (None, migrate.head_revision())
        assert migrate.upgrade(backend.engine) == (migrate.head_revision(),) * 2
        publish_all(backend, records[:1])
        assert backend.search(SearchQuery()).matched == len(records[0].items)
    finally:
        backend.close()


def test_head_revision_read_from_the_scripts_is_the_migration_tools() -> None:
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(migrate.alembic_config())
    assert migrate.head_revision() == scripts.get_current_head()
    assert len(list(scripts.walk_revisions())) == len(
        list((migrate.MIGRATIONS / "versions").glob("rev*.py"))
    )  # every script is read by both


def test_cli_migrate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from spaceclimate.cli.main import app

    monkeypatch.setenv("SCO_HOME", str(tmp_path))
    monkeypatch.delenv("SCO_CATALOG_URL", raising=False)
    result = CliRunner().invoke(app, ["catalog", "migrate"])
    assert result.exit_code == 0, result.output
    assert migrate.head_revision() in result.output
    con = sqlite3.connect(tmp_path / "catalog.db")
    try:
        assert con.execute("SELECT version_num FROM sco_alembic_version").fetchone() == (
            migrate.head_revision(),
        )
    finally:
        con.close()


# -- ingest end to end on PostgreSQL --------------------------------------------------------------
def test_ingest_into_postgresql(tmp_path: Path, samples: Path) -> None:
    with fresh_database("postgresql", tmp_path) as url:
        settings = Settings(home=tmp_path / "hub", catalog_url=url)

        def ingest(*names: str) -> list[tuple[str, str, int]]:
            ingestor = Ingestor(settings)
            try:
                results = ingestor.ingest([samples / "sst" / n for n in names])
            finally:
                ingestor.close()
            return [(r.collection_id, r.status, r.version) for r in results]

        day = "sst_ostia_l4_anom_daily_2017060{}.nc"
        assert ingest(day.format(5)) == [("ukmo-ostia-sst-daily", "published", 1)]
        assert ingest(day.format(5)) == [("ukmo-ostia-sst-daily", "unchanged", 1)]
        assert ingest(day.format(6), day.format(7)) == [("ukmo-ostia-sst-daily", "published", 2)]
        catalog = open_catalog(url)
        try:
            june6 = catalog.search(
                SearchQuery(start=_day(2017, 6, 6, 12), end=_day(2017, 6, 6, 13))
            )
            assert [f["id"] for f in june6.features] == ["sst_ostia_l4_anom_daily_20170606"]
            latest = catalog.latest_version("ukmo-ostia-sst-daily")
            assert latest is not None and len(latest.sources) == 3
            cube = settings.resolved_store_path / latest.cube_href
            assert (cube / "zarr.json").is_file()
        finally:
            catalog.close()
