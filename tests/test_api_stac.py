"""The STAC API at /stac, driven by a standard client (pystac-client) against a live server.

Expected results are computed independently from the catalog's tables (read with sqlite3)
and the sample files' known dates and footprints, not from the API's own code.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pystac
import pytest
from pystac_client import Client
from pystac_client.conformance import ConformanceClasses
from shapely.geometry import box, shape
from shapely.geometry.base import BaseGeometry

from .sourcedata import BUNDLED_COLLECTIONS

OSTIA = "ukmo-ostia-sst-daily"
OSTIA_0606 = "sst_ostia_l4_anom_daily_20170606"
ARCTIC = (-180.0, 66.5, 180.0, 90.0)
STAC = "https://api.stacspec.org"


# -- independent view of the catalog --------------------------------------------------------
@pytest.fixture(scope="module")
def rows(hub_home: Path) -> list[dict[str, Any]]:
    """Every item of the hub as stored: id, collection, time range, bbox, document."""
    con = sqlite3.connect(hub_home / "catalog.db")
    try:
        out = []
        for cid, iid, start, end, minx, miny, maxx, maxy, doc in con.execute(
            "select collection_id, item_id, start, end, minx, miny, maxx, maxy, doc from sco_items"
        ):
            out.append(
                {
                    "collection": cid,
                    "id": iid,
                    "start": start,
                    "end": end,
                    "bbox": (minx, miny, maxx, maxy),
                    "doc": json.loads(doc),
                }
            )
        return out
    finally:
        con.close()


def touches(row: dict[str, Any], area: BaseGeometry) -> bool:
    """Whether an item's own geometry (shapely's reading of its GeoJSON) meets *area*."""
    return bool(shape(row["doc"]["geometry"]).intersects(area))


@pytest.fixture(scope="module")
def collection_docs(hub_home: Path) -> dict[str, dict[str, Any]]:
    """Every collection document as stored, by id."""
    con = sqlite3.connect(hub_home / "catalog.db")
    try:
        return {
            cid: json.loads(doc) for cid, doc in con.execute("select id, doc from sco_collections")
        }
    finally:
        con.close()


@pytest.fixture(scope="module")
def client(live_hub: str) -> Client:
    """A pystac-client Client on the live hub."""
    return Client.open(f"{live_hub}/stac")


def overlaps(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] <= b[2] and a[2] >= b[0] and a[1] <= b[3] and a[3] >= b[1]


def ecv_of(row: dict[str, Any]) -> str:
    return str(row["doc"]["properties"]["sco:ecv"])


def ids_of(features: Iterator[dict[str, Any]] | list[dict[str, Any]]) -> list[str]:
    return [f["id"] for f in features]


# -- structural validation (no network for JSON schemas) ------------------------------------
def check_link(lk: dict[str, Any]) -> None:
    assert isinstance(lk.get("rel"), str) and isinstance(lk.get("href"), str), lk
    assert lk["href"].startswith("http"), lk


def check_item(item: dict[str, Any]) -> None:
    """A valid STAC Item, structurally, that pystac round-trips."""
    assert item["type"] == "Feature" and isinstance(item["id"], str)
    assert item["stac_version"].startswith("1.")
    assert isinstance(item["stac_extensions"], list)
    assert item["geometry"]["type"] in ("Polygon", "MultiPolygon", "Point")
    assert len(item["bbox"]) == 4 and all(isinstance(v, int | float) for v in item["bbox"])
    props = item["properties"]
    assert props.get("datetime") is not None or (
        props.get("start_datetime") and props.get("end_datetime")
    ), item["id"]
    if props.get("start_datetime"):
        assert props["start_datetime"] <= props["end_datetime"]
    for lk in item["links"]:
        check_link(lk)
    for asset in item["assets"].values():
        assert isinstance(asset["href"], str) and asset["href"].startswith("http")
    assert "/work/" not in json.dumps(item) and "/tmp/" not in json.dumps(item)
    parsed = pystac.Item.from_dict(item, preserve_dict=True)
    assert parsed.id == item["id"]
    again = parsed.to_dict(include_self_link=False, transform_hrefs=False)
    assert again["properties"]["start_datetime" if props.get("start_datetime") else "datetime"]


def check_collection(doc: dict[str, Any]) -> None:
    """A valid STAC Collection, structurally, that pystac round-trips."""
    assert doc["type"] == "Collection" and doc["stac_version"].startswith("1.")
    for key in ("id", "description", "license"):
        assert isinstance(doc[key], str) and doc[key]
    bbox = doc["extent"]["spatial"]["bbox"]
    assert all(len(b) == 4 for b in bbox)
    interval = doc["extent"]["temporal"]["interval"]
    assert all(len(i) == 2 for i in interval)
    for lk in doc["links"]:
        check_link(lk)
    assert "/work/" not in json.dumps(doc) and "/tmp/" not in json.dumps(doc)
    assert pystac.Collection.from_dict(doc, preserve_dict=True).id == doc["id"]


# -- landing, conformance, links ------------------------------------------------------------
def test_landing_conformance_and_children(
    client: Client, live_hub: str, collection_docs: dict[str, Any]
) -> None:
    for cls in ("ITEM_SEARCH", "FILTER", "SORT", "FIELDS", "COLLECTIONS", "COLLECTION_SEARCH"):
        assert client.conforms_to(ConformanceClasses.get_by_name(cls)), cls
    assert client.conforms_to(ConformanceClasses.COLLECTION_SEARCH_FREE_TEXT)
    landing = httpx.get(f"{live_hub}/stac").json()
    assert landing["type"] == "Catalog"
    by_rel: dict[str, list[dict[str, Any]]] = {}
    for lk in landing["links"]:
        by_rel.setdefault(lk["rel"], []).append(lk)
    desc = by_rel["service-desc"][0]
    assert desc["href"] == f"{live_hub}/api"
    assert desc["type"] == "application/vnd.oai.openapi+json;version=3.1"
    answered = httpx.get(desc["href"], headers={"Accept": desc["type"]})
    assert answered.headers["content-type"] == desc["type"]
    assert answered.json()["openapi"].startswith("3.1.")
    assert by_rel["service-doc"][0]["href"] == f"{live_hub}/docs"
    assert sorted(lk.get("method") for lk in by_rel["search"]) == ["GET", "POST"]
    children = sorted(lk["href"].rsplit("/", 1)[1] for lk in by_rel["child"])
    assert children == sorted(collection_docs)
    hub_conformance = httpx.get(f"{live_hub}/conformance").json()["conformsTo"]
    assert f"{STAC}/v1.0.0/item-search" in hub_conformance


def _follow(lk: dict[str, Any]) -> int:
    if lk.get("method") == "POST":
        return httpx.post(lk["href"], json=lk.get("body", {}), timeout=30).status_code
    return httpx.get(lk["href"], timeout=30).status_code


def test_every_stac_link_resolves(live_hub: str) -> None:
    landing = httpx.get(f"{live_hub}/stac").json()
    collection = httpx.get(f"{live_hub}/stac/collections/{OSTIA}").json()
    item = httpx.get(f"{live_hub}/stac/collections/{OSTIA}/items/{OSTIA_0606}").json()
    page = httpx.get(f"{live_hub}/stac/collections/{OSTIA}/items", params={"limit": 1}).json()
    followed = 0
    for doc in (landing, collection, item, page):
        for lk in doc["links"]:
            href = lk["href"]
            own = href.startswith(f"{live_hub}/stac") or href in (
                f"{live_hub}/api",
                f"{live_hub}/docs",
            )
            if own:
                assert _follow(lk) == 200, lk
                followed += 1
    assert followed >= BUNDLED_COLLECTIONS + 9 + 4 + 4
    rels = {lk["rel"] for lk in page["links"]}
    assert {"self", "root", "parent", "collection", "next"} <= rels


def test_collection_links_cube_tiles_and_edr(live_hub: str) -> None:
    doc = httpx.get(f"{live_hub}/stac/collections/{OSTIA}").json()
    check_collection(doc)
    zarr = doc["assets"]["zarr"]
    assert zarr["href"] == f"{live_hub}/zarr/{OSTIA}"
    assert zarr["type"] == "application/vnd+zarr" and zarr["roles"] == ["data"]
    links = doc["links"]
    assert any(lk["rel"] == "alternate" and lk["href"] == zarr["href"] for lk in links)
    xyz = sorted(lk["href"] for lk in links if lk["rel"] == "xyz")
    assert xyz == [
        f"{live_hub}/tiles/{OSTIA}/{v}/{{z}}/{{x}}/{{y}}.png" for v in ("sst", "sst_anomaly")
    ]
    tilejson = sorted(lk["href"] for lk in links if lk["rel"] == "tilejson")
    assert tilejson == [
        f"{live_hub}/tiles/{OSTIA}/{v}/tilejson.json" for v in ("sst", "sst_anomaly")
    ]
    assert {"rel": "service", "href": f"{live_hub}/edr/collections/{OSTIA}"}.items() <= next(
        lk for lk in links if lk["rel"] == "service"
    ).items()
    # a gridless time series has no map tiles
    gmsl = httpx.get(f"{live_hub}/stac/collections/csiro-gmsl-altimetry").json()
    assert not [lk for lk in gmsl["links"] if lk["rel"] in ("xyz", "tilejson")]
    # the licence link of the recipe survives
    mss = httpx.get(f"{live_hub}/stac/collections/cnes-cls-mss").json()
    assert any(lk["rel"] == "license" for lk in mss["links"])


def test_item_source_asset_is_a_download_of_its_slice(
    live_hub: str, rows: list[dict[str, Any]]
) -> None:
    item = httpx.get(f"{live_hub}/stac/collections/{OSTIA}/items/{OSTIA_0606}").json()
    check_item(item)
    asset = item["assets"]["source"]
    url = urlparse(asset["href"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{live_hub}/download/{OSTIA}"
    assert parse_qs(url.query) == {
        "datetime": ["2017-06-06T00:00:00Z/2017-06-06T23:59:59Z"],
        "format": ["netcdf"],
    }
    stored = next(r for r in rows if r["id"] == OSTIA_0606)["doc"]["assets"]["source"]
    original = asset["sco:source_file"]
    assert original["file:checksum"] == stored["file:checksum"]
    assert original["file:size"] == stored["file:size"] == Path(stored["href"]).stat().st_size
    assert original["title"] == "sst_ostia_l4_anom_daily_20170606.nc"
    links = {lk["rel"]: lk["href"] for lk in item["links"]}
    assert links["self"] == f"{live_hub}/stac/collections/{OSTIA}/items/{OSTIA_0606}"
    assert links["parent"] == links["collection"] == f"{live_hub}/stac/collections/{OSTIA}"


def test_static_item_gets_an_open_time_range(live_hub: str) -> None:
    item = httpx.get(
        f"{live_hub}/stac/collections/cnes-cls-mss/items/mss_cnes_cls_v2_quarterdeg"
    ).json()
    check_item(item)
    props = item["properties"]
    assert props["sco:static"] is True and props["datetime"] is None
    assert (props["start_datetime"], props["end_datetime"]) == (
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
    )
    assert "datetime" not in parse_qs(urlparse(item["assets"]["source"]["href"]).query)


def test_every_item_and_collection_is_valid(
    live_hub: str, rows: list[dict[str, Any]], collection_docs: dict[str, Any]
) -> None:
    page = httpx.get(f"{live_hub}/stac/search", params={"limit": 1000}).json()
    assert page["numberMatched"] == page["numberReturned"] == len(rows)
    for item in page["features"]:
        check_item(item)
    collections = httpx.get(f"{live_hub}/stac/collections").json()
    assert sorted(c["id"] for c in collections["collections"]) == sorted(collection_docs)
    for doc in collections["collections"]:
        check_collection(doc)


# -- item search ----------------------------------------------------------------------------
def test_arctic_sea_ice_search(client: Client, rows: list[dict[str, Any]]) -> None:
    expected = sorted(
        r["id"] for r in rows if overlaps(r["bbox"], ARCTIC) and ecv_of(r) == "sea_ice"
    )
    assert expected and all("_sh_" not in i and "_S_" not in i for i in expected)
    found = client.search(
        bbox=list(ARCTIC), filter="\"sco:ecv\" = 'sea_ice'", method="GET", max_items=100
    )
    assert sorted(ids_of(found.items_as_dicts())) == expected
    found = client.search(
        bbox=list(ARCTIC),
        filter={"op": "=", "args": [{"property": "sco:ecv"}, "sea_ice"]},
        method="POST",
    )
    assert sorted(i.id for i in found.items()) == expected


def test_ecv_and_agency_parameters(
    live_hub: str, rows: list[dict[str, Any]], collection_docs: dict[str, Any]
) -> None:
    r = httpx.get(
        f"{live_hub}/stac/search", params={"bbox": ",".join(map(str, ARCTIC)), "ecv": "sea_ice"}
    )
    expected = sorted(
        r["id"] for r in rows if overlaps(r["bbox"], ARCTIC) and ecv_of(r) == "sea_ice"
    )
    assert sorted(ids_of(r.json()["features"])) == expected
    esa = sorted(
        cid
        for cid, doc in collection_docs.items()
        if any(
            "esa" in a.lower() for a in doc["sco:agencies"] + [p["name"] for p in doc["providers"]]
        )
    )
    assert esa == sorted(c for c in collection_docs if c.startswith("esa-"))
    page = httpx.get(f"{live_hub}/stac/search", params={"agency": "ESA", "limit": 100}).json()
    assert sorted({f["collection"] for f in page["features"]}) == esa
    assert page["numberMatched"] == sum(1 for r in rows if r["collection"] in esa)
    cols = httpx.get(f"{live_hub}/stac/collections", params={"agency": "esa"}).json()
    assert sorted(c["id"] for c in cols["collections"]) == esa
    body = {"agency": "ESA", "ecv": "soil_moisture", "limit": 100}
    posted = httpx.post(f"{live_hub}/stac/search", json=body).json()
    assert sorted(ids_of(posted["features"])) == sorted(
        r["id"] for r in rows if r["collection"] == "esa-cci-sm-combined"
    )


def test_datetime_search(client: Client, rows: list[dict[str, Any]]) -> None:
    found = client.search(collections=[OSTIA], datetime="2017-06-06", method="GET")
    assert [i.id for i in found.items()] == [OSTIA_0606]
    instant = "2017-06-06T12:00:00Z"
    expected = sorted(r["id"] for r in rows if r["start"] and r["start"] <= instant <= r["end"])
    assert OSTIA_0606 in expected and "sst_ostia_l4_anom_daily_20170605" not in expected
    found = client.search(datetime=instant, method="POST", max_items=100)
    assert sorted(i.id for i in found.items()) == expected
    span = ("2021-12-15T00:00:00Z", "2022-01-15T00:00:00Z")
    expected = sorted(
        r["id"] for r in rows if r["start"] and r["start"] <= span[1] and r["end"] >= span[0]
    )
    found = client.search(datetime="/".join(span), method="GET", max_items=100)
    assert sorted(i.id for i in found.items()) == expected


def test_intersects_is_exact_not_just_bbox(client: Client, rows: list[dict[str, Any]]) -> None:
    # a triangle whose bbox overlaps the OLCI North Sea box (0..5E, 50..52.5N) but not the box
    triangle = {
        "type": "Polygon",
        "coordinates": [[[4.6, 53.0], [5.5, 53.0], [5.5, 52.1], [4.6, 53.0]]],
    }
    olci = "chl_olci_c2rcc_cube_southern_north_sea_201701"
    assert overlaps(next(r for r in rows if r["id"] == olci)["bbox"], (4.6, 52.1, 5.5, 53.0))
    found = ids_of(client.search(intersects=triangle, max_items=100).items_as_dicts())
    assert olci not in found and OSTIA_0606 in found
    point = {"type": "Point", "coordinates": [2.0, 51.0]}
    found = ids_of(client.search(intersects=point, method="GET", max_items=100).items_as_dicts())
    assert olci in found
    # items are matched on their geometry (a swath's outline), not on its bbox
    assert sorted(found) == sorted(r["id"] for r in rows if touches(r, box(2, 51, 2, 51)))


def test_cql2_text_and_json_filters(client: Client, rows: list[dict[str, Any]]) -> None:
    text = "sco:ecv = 'sea_ice' AND datetime >= TIMESTAMP('2021-12-01T00:00:00Z')"
    expected = sorted(
        r["id"]
        for r in rows
        if ecv_of(r) == "sea_ice" and (r["start"] or "") >= "2021-12-01T00:00:00Z"
    )
    assert len(expected) == 3
    got = client.search(filter=text, filter_lang="cql2-text", method="GET", max_items=100)
    assert sorted(ids_of(got.items_as_dicts())) == expected
    as_json = {
        "op": "and",
        "args": [
            {"op": "=", "args": [{"property": "sco:ecv"}, "sea_ice"]},
            {"op": ">=", "args": [{"property": "datetime"}, {"timestamp": "2021-12-01T00:00:00Z"}]},
        ],
    }
    got = client.search(filter=as_json, filter_lang="cql2-json", method="POST", max_items=100)
    assert sorted(ids_of(got.items_as_dicts())) == expected
    got = client.search(filter=json.dumps(as_json), filter_lang="cql2-json", method="GET")
    assert sorted(ids_of(got.items_as_dicts())) == expected

    cases = {
        "id LIKE 'sst\\_ostia%'": lambda r: r["id"].startswith("sst_ostia"),
        "id LIKE 'SST%'": lambda r: False,  # LIKE is case-sensitive
        "collection IN ('noaa-ersst-v5', 'cnes-cls-mss')": lambda r: (
            r["collection"] in ("noaa-ersst-v5", "cnes-cls-mss")
        ),
        "end_datetime BETWEEN TIMESTAMP('2017-01-01T00:00:00Z') AND DATE('2017-12-31')": (
            lambda r: (
                bool(r["end"]) and "2017-01-01T00:00:00Z" <= r["end"] <= "2017-12-31T00:00:00Z"
            )
        ),
        "NOT (sco:ecv = 'sea_ice') AND sco:version = 1": lambda r: ecv_of(r) != "sea_ice",
        "start_datetime IS NULL": lambda r: r["start"] is None,
        "S_INTERSECTS(geometry, BBOX(0, 50, 5, 52))": lambda r: touches(r, box(0, 50, 5, 52)),
    }
    for cql, keep in cases.items():
        got = client.search(filter=cql, method="GET", max_items=1000)
        assert sorted(ids_of(got.items_as_dicts())) == sorted(r["id"] for r in rows if keep(r)), cql


def test_sortby(client: Client, live_hub: str, rows: list[dict[str, Any]]) -> None:
    # datetime descending (items without time last), then id ascending
    dated = sorted((r for r in rows if r["start"]), key=lambda r: r["id"])
    dated = sorted(dated, key=lambda r: r["start"], reverse=True)
    expected = [r["id"] for r in dated] + sorted(r["id"] for r in rows if not r["start"])
    got = client.search(sortby="-properties.datetime,id", method="GET", limit=7, max_items=100)
    assert ids_of(got.items_as_dicts()) == expected
    got = client.search(
        sortby=[{"field": "datetime", "direction": "desc"}, {"field": "id", "direction": "asc"}],
        method="POST",
        max_items=100,
    )
    assert ids_of(got.items_as_dicts()) == expected
    page = httpx.get(f"{live_hub}/stac/search", params={"sortby": "id", "limit": 1000}).json()
    assert ids_of(page["features"]) == sorted(r["id"] for r in rows)
    page = httpx.get(f"{live_hub}/stac/collections/{OSTIA}/items", params={"sortby": "-id"}).json()
    assert ids_of(page["features"])[0] == "sst_ostia_l4_anom_daily_20170607"


def _time(row: dict[str, Any]) -> dict[str, Any]:
    """The time properties of a stored OSTIA item (a null datetime, a start and an end)."""
    props = row["doc"]["properties"]
    return {k: props.get(k) for k in ("datetime", "start_datetime", "end_datetime")}


def test_fields(client: Client, live_hub: str, rows: list[dict[str, Any]]) -> None:
    stored = {r["id"]: r for r in rows if r["collection"] == OSTIA}
    # include: the fields asked for, with what names the item; properties carry its time
    for method in ("POST", "GET"):
        got = list(
            client.search(
                collections=[OSTIA], fields=["id", "properties.sco:ecv"], method=method
            ).items_as_dicts()
        )
        assert sorted(i["id"] for i in got) == sorted(stored)
        for item in got:
            assert set(item) == {"id", "type", "stac_version", "collection", "properties"}
            assert item["properties"] == {
                **_time(stored[item["id"]]),
                "sco:ecv": "sea_surface_temperature",
            }
    # exclude alone in GET: the default fields without the excluded ones
    page = httpx.get(
        f"{live_hub}/stac/search",
        params={"collections": OSTIA, "fields": "-assets,-geometry,-links"},
    ).json()
    item = page["features"][0]
    assert "assets" not in item and "geometry" not in item and "links" not in item
    assert item["properties"] == _time(stored[item["id"]])
    assert item["bbox"] == [-180, -90, 180, 90] and item["collection"] == OSTIA
    # exclude alone in POST: the whole item without them; with a null include: the defaults
    body = {"collections": [OSTIA], "fields": {"exclude": ["assets", "geometry", "links"]}}
    item = httpx.post(f"{live_hub}/stac/search", json=body).json()["features"][0]
    assert "assets" not in item and "geometry" not in item and "links" not in item
    assert item["properties"]["sco:variables"] == ["sst", "sst_anomaly"]
    body["fields"]["include"] = None
    item = httpx.post(f"{live_hub}/stac/search", json=body).json()["features"][0]
    assert "geometry" not in item and item["properties"] == _time(stored[item["id"]])
    # a field named in both lists is included; an excluded parent keeps an included child
    page = httpx.get(
        f"{live_hub}/stac/search",
        params={"ids": OSTIA_0606, "fields": "+geometry,-geometry,-properties,+properties.sco:ecv"},
    ).json()
    item = page["features"][0]
    assert set(item) == {"id", "type", "stac_version", "collection", "geometry", "properties"}
    assert item["properties"] == {"sco:ecv": "sea_surface_temperature"}
    page = httpx.get(f"{live_hub}/stac/search", params={"ids": OSTIA_0606, "fields": "bbox"})
    assert page.json()["features"] == [
        {
            "type": "Feature",
            "stac_version": "1.1.0",
            "id": OSTIA_0606,
            "collection": OSTIA,
            "bbox": [-180, -90, 180, 90],
        }
    ]
    # "fields": null is not a fields object
    r = httpx.post(f"{live_hub}/stac/search", json={"fields": None})
    assert r.status_code == 400 and "'fields'" in r.json()["detail"]
    # include properties but drop one of them: the more specific path wins
    page = httpx.get(
        f"{live_hub}/stac/search",
        params={"ids": OSTIA_0606, "fields": "properties,-properties.sco:variables"},
    ).json()
    props = page["features"][0]["properties"]
    assert "sco:variables" not in props and props["sco:ecv"] == "sea_surface_temperature"
    # empty fields: the minimal valid item
    page = httpx.get(f"{live_hub}/stac/search", params={"ids": OSTIA_0606, "fields": ""}).json()
    item = page["features"][0]
    check_item(item)
    assert "sco:ecv" not in item["properties"]


def _text(doc: dict[str, Any]) -> str:
    return " ".join([doc["id"], doc["title"], doc["description"], *doc["keywords"]]).lower()


def test_a_stac_client_reads_items_of_an_include_list(
    client: Client, rows: list[dict[str, Any]]
) -> None:
    stored = {r["id"]: r for r in rows if r["collection"] == OSTIA}
    for method in ("POST", "GET"):
        search = client.search(
            collections=[OSTIA], fields=["id", "properties.start_datetime"], method=method
        )
        items = list(search.items())
        assert sorted(i.id for i in items) == sorted(stored)
        for item in items:
            assert isinstance(item, pystac.Item) and item.datetime is None
            start, end = _time(stored[item.id])["start_datetime"], stored[item.id]["end"]
            assert item.properties["start_datetime"] == start
            assert item.properties["end_datetime"] == end
            assert item.geometry is None and item.assets == {}


def test_a_stac_client_searches_datetime_intervals(
    client: Client, rows: list[dict[str, Any]]
) -> None:
    dated = [r for r in rows if r["start"]]

    def overlapping(start: str | None, end: str | None) -> list[str]:
        return sorted(
            r["id"]
            for r in dated
            if (end is None or r["start"] <= end) and (start is None or r["end"] >= start)
        )

    cases = [
        ("2017-06-05T12:00:00Z", "2017-06-06T06:00:00Z"),
        ("2021-12-31T00:00:00Z", None),
        (None, "1979-01-01T00:00:00Z"),
    ]
    for start, end in cases:
        expected = overlapping(start, end)
        assert expected, (start, end)
        text = f"{start or '..'}/{end or '..'}"
        for method in ("GET", "POST"):
            found = client.search(datetime=text, method=method, max_items=1000)
            assert sorted(i.id for i in found.items()) == expected, (text, method)
    # a date (the client sends it as its whole day)
    found = client.search(datetime="2017-06-05/2017-06-06", collections=[OSTIA])
    assert sorted(i.id for i in found.items()) == [
        "sst_ostia_l4_anom_daily_20170605",
        OSTIA_0606,
    ]


def test_free_text_q_on_items(
    live_hub: str, rows: list[dict[str, Any]], collection_docs: dict[str, Any]
) -> None:
    page = httpx.get(f"{live_hub}/stac/search", params={"q": "ostia daily", "limit": 100}).json()
    assert sorted(ids_of(page["features"])) == sorted(
        r["id"] for r in rows if r["collection"] == OSTIA
    )
    # comma-separated groups are alternatives
    page = httpx.get(
        f"{live_hub}/stac/search", params={"q": "ostia daily,greenland", "limit": 100}
    ).json()
    expected = sorted(
        cid
        for cid, doc in collection_docs.items()
        if "greenland" in _text(doc) or ("ostia" in _text(doc) and "daily" in _text(doc))
    )
    assert {OSTIA, "nasa-grace-ice-mass-greenland"} <= set(expected)
    assert sorted({f["collection"] for f in page["features"]}) == expected


def test_paging_limit_2_equals_one_big_page(
    client: Client, live_hub: str, rows: list[dict[str, Any]]
) -> None:
    big = httpx.get(f"{live_hub}/stac/search", params={"limit": 1000}).json()
    assert len(big["features"]) == len(rows)
    for method in ("GET", "POST"):
        search = client.search(limit=2, method=method, max_items=1000)
        pages = list(search.pages_as_dicts())
        assert len(pages) == (len(rows) + 1) // 2
        assert [i for p in pages for i in ids_of(p["features"])] == ids_of(big["features"])
    second = httpx.get(f"{live_hub}/stac/search", params={"limit": 2, "token": "2"}).json()
    prev = next(lk for lk in second["links"] if lk["rel"] == "prev")
    assert ids_of(httpx.get(prev["href"]).json()["features"]) == ids_of(big["features"][:2])
    posted = httpx.post(f"{live_hub}/stac/search", json={"limit": 2}).json()
    nxt = next(lk for lk in posted["links"] if lk["rel"] == "next")
    assert nxt["method"] == "POST" and nxt["body"]["token"] == "2" and nxt["merge"] is True
    # the items of one collection, paged
    items = list(client.get_collection("esa-cci-sm-combined").get_items())
    assert sorted(i.id for i in items) == sorted(
        r["id"] for r in rows if r["collection"] == "esa-cci-sm-combined"
    )


def test_collection_search(client: Client, live_hub: str, collection_docs: dict[str, Any]) -> None:
    found = client.collection_search(q="sea ice", max_collections=100)
    expected = sorted(
        cid for cid, doc in collection_docs.items() if all(w in _text(doc) for w in ("sea", "ice"))
    )
    assert expected and sorted(c.id for c in found.collections()) == expected
    found = client.collection_search(bbox=list(ARCTIC), datetime="2021-12-31", max_collections=100)

    def in_arctic_on_day(doc: dict[str, Any]) -> bool:
        start, end = doc["extent"]["temporal"]["interval"][0]
        in_time = (start is None or start <= "2021-12-31T23:59:59Z") and (
            end is None or end >= "2021-12-31T00:00:00Z"
        )
        return in_time and overlaps(tuple(doc["extent"]["spatial"]["bbox"][0]), ARCTIC)

    assert sorted(c.id for c in found.collections()) == sorted(
        cid for cid, doc in collection_docs.items() if in_arctic_on_day(doc)
    )
    ids: list[str] = []
    url: str | None = f"{live_hub}/stac/collections?limit=5"
    while url:
        page = httpx.get(url).json()
        assert page["numberMatched"] == len(collection_docs)
        ids += [c["id"] for c in page["collections"]]
        url = next((lk["href"] for lk in page["links"] if lk["rel"] == "next"), None)
    assert ids == sorted(collection_docs)


def test_queryables(client: Client, live_hub: str) -> None:
    queryables = client.get_queryables()
    assert {"id", "collection", "datetime", "sco:ecv", "sco:version", "geometry"} <= set(
        queryables["properties"]
    )
    assert queryables["properties"]["datetime"]["format"] == "date-time"
    one = httpx.get(f"{live_hub}/stac/collections/{OSTIA}/queryables")
    assert one.status_code == 200 and one.json()["$id"].endswith(f"/{OSTIA}/queryables")


# -- problems -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "params", "name"),
    [
        ("/stac/search", {"bbox": "1,2,3"}, "bbox"),
        ("/stac/search", {"bbox": "0,10,5,-10"}, "bbox"),
        ("/stac/search", {"datetime": "2017-13-01"}, "datetime"),
        ("/stac/search", {"datetime": "2018-01-01/2017-01-01"}, "datetime"),
        ("/stac/search", {"limit": "0"}, "limit"),
        ("/stac/search", {"limit": "many"}, "limit"),
        ("/stac/search", {"sortby": "-cloud_cover"}, "sortby"),
        ("/stac/search", {"fields": "properties..x"}, "fields"),
        ("/stac/search", {"token": "abc"}, "token"),
        ("/stac/search", {"filter": "sco:ecv = "}, "filter"),
        ("/stac/search", {"filter": "eo:cloud_cover < 10"}, "filter"),
        ("/stac/search", {"filter": "id = 3"}, "filter"),
        ("/stac/search", {"filter": "{", "filter-lang": "cql2-json"}, "filter"),
        ("/stac/search", {"filter": "id = 'a'", "filter-lang": "cql3"}, "filter-lang"),
        ("/stac/search", {"filter": "id = 'a'", "filter-crs": "EPSG:3857"}, "filter-crs"),
        ("/stac/search", {"intersects": '{"type": "Point"}'}, "intersects"),
        ("/stac/search", {"collections": "no-such-collection"}, "collections"),
        ("/stac/collections", {"bbox": "x,y,z,w"}, "bbox"),
        ("/stac/collections", {"limit": "-1"}, "limit"),
        (f"/stac/collections/{OSTIA}/items", {"datetime": "yesterday"}, "datetime"),
    ],
)
def test_bad_input_is_a_400_naming_the_parameter(
    api: Any, path: str, params: dict[str, str], name: str
) -> None:
    r = api.get(path, params=params)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert f"'{name}'" in r.json()["detail"]


def test_unknown_property_lists_queryables(api: Any) -> None:
    detail = api.get("/stac/search", params={"filter": "eo:cloud_cover < 10"}).json()["detail"]
    assert "eo:cloud_cover" in detail and "sco:ecv" in detail and "datetime" in detail


@pytest.mark.parametrize(
    ("body", "name"),
    [
        ({"bbox": [0, 0, 1]}, "bbox"),
        ({"limit": 0}, "limit"),
        ({"sortby": [{"field": "id", "direction": "up"}]}, "sortby"),
        ({"filter": {"op": "like", "args": [{"property": "sco:version"}, "1%"]}}, "filter"),
        ({"filter": {"op": "t_after", "args": [{"property": "datetime"}, "x"]}}, "filter"),
        ({"intersects": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]}}, "intersects"),
        (
            {"bbox": [0, 0, 1, 1], "intersects": {"type": "Point", "coordinates": [0, 0]}},
            "intersects",
        ),
        ({"fields": {"include": "id"}}, "fields.include"),
        ({"query": {"eo:cloud_cover": {"lt": 10}}}, "query"),
    ],
)
def test_bad_post_body_is_a_400(api: Any, body: dict[str, Any], name: str) -> None:
    r = api.post("/stac/search", json=body)
    assert r.status_code == 400, r.text
    assert f"'{name}'" in r.json()["detail"]


def test_unknown_collection_and_item_are_404_naming_known_ids(api: Any) -> None:
    for path in ("/stac/collections/nope", "/stac/collections/nope/items"):
        r = api.get(path)
        assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
        assert OSTIA in r.json()["detail"] and OSTIA in r.json()["known"]
    r = api.get(f"/stac/collections/{OSTIA}/items/nope")
    assert r.status_code == 404 and OSTIA_0606 in r.json()["detail"]


def test_number_matched_only_when_counted_exactly(
    api: Any, rows: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from spaceclimate.api.stac import search

    monkeypatch.setattr(search, "COUNT_LIMIT", 4)
    assert len(rows) > 8
    everything = api.get("/stac/search", params={"limit": 1000}).json()
    assert everything["numberMatched"] == len(rows)  # one page: nothing to count
    for method in ("GET", "POST"):
        pages = []
        if method == "GET":
            page = api.get("/stac/search", params={"limit": 2})
        else:
            page = api.post("/stac/search", json={"limit": 2})
        while True:
            doc = page.json()
            assert doc["numberReturned"] == len(doc["features"]) <= 2
            pages.append(doc)
            nxt = [lk for lk in doc["links"] if lk["rel"] == "next"]
            if not nxt:
                break
            if method == "GET":
                page = api.get(nxt[0]["href"])
            else:
                page = api.post(nxt[0]["href"], json={"limit": 2, **nxt[0]["body"]})
        assert [i for p in pages for i in ids_of(p["features"])] == ids_of(everything["features"])
        assert "numberMatched" not in pages[0]  # more than the count limit match
        assert pages[-1]["numberMatched"] == len(rows)  # the last page knows the total
        assert all(p.get("numberMatched", len(rows)) == len(rows) for p in pages)


def test_unknown_one_of_several_collections_is_a_400_listing_known_ones(
    api: Any, collection_docs: dict[str, Any]
) -> None:
    r = api.get("/stac/search", params={"collections": f"{OSTIA},nope"})
    assert r.status_code == 400 and "'nope'" in r.json()["detail"]
    assert r.json()["known"] == sorted(collection_docs)
    r = api.post("/stac/search", json={"collections": ["nope", OSTIA]})
    assert r.status_code == 400 and "'nope'" in r.json()["detail"]


# -- datetime: RFC 3339 strictly ------------------------------------------------------------
INVALID_DATETIMES = [
    "/",
    "../..",
    "/..",
    "../",
    "..",
    "1985-04-12",  # a date: no time
    "1985-12-12T23:20:50.52",  # no offset
    "1985-04-12T23:20:50.Z",  # an empty fraction
    "1985-04-12T23:20:50,Z",
    "1985-04-12T23:20:50,52Z",  # a comma before the fraction
    "1937-01-01T12:00:27.87+0100",  # an offset without colon
    "1985-04-12 23:20:50Z",
    "1985-13-12T23:20:50.52Z",
    "1985-12-01T25:20:50Z",
    "1990-12-31T23:59:61Z",
    "1986-04-12T23:20:50.52Z/1985-04-12T23:20:50.52Z",  # ends before it starts
    "1984-04-12T23:20:50.52Z/1985-04-12T23:20:50.52Z/",
    "2017-06-05/2017-06-06",
]


@pytest.mark.parametrize("value", INVALID_DATETIMES)
def test_datetime_must_be_rfc3339(api: Any, value: str) -> None:
    answers = {
        "GET /stac/search": api.get("/stac/search", params={"datetime": value}),
        "POST /stac/search": api.post("/stac/search", json={"datetime": value}),
        "GET items": api.get(f"/stac/collections/{OSTIA}/items", params={"datetime": value}),
        "GET /stac/collections": api.get("/stac/collections", params={"datetime": value}),
    }
    for where, r in answers.items():
        assert r.status_code == 400, (where, value, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        detail = r.json()["detail"]
        assert "'datetime'" in detail and "\n" not in detail, (where, detail)


def test_datetime_forms_of_rfc3339(api: Any, rows: list[dict[str, Any]]) -> None:
    dated = [r for r in rows if r["start"]]

    def overlapping(start: str | None, end: str | None) -> list[str]:
        return sorted(
            r["id"]
            for r in dated
            if (end is None or r["start"] <= end) and (start is None or r["end"] >= start)
        )

    noon = "2017-06-06T12:00:00Z"
    cases = {
        noon: (noon, noon),
        "2017-06-06T14:00:00+02:00": (noon, noon),
        "2017-06-06T04:00:00-08:00": (noon, noon),
        "2017-06-06t12:00:00.000000000z": (noon, noon),
        "2017-06-06T11:59:59.999999999Z": ("2017-06-06T11:59:59Z", "2017-06-06T11:59:59Z"),
        f"{noon}/..": (noon, None),
        f"{noon}/": (noon, None),
        f"../{noon}": (None, noon),
        f"/{noon}": (None, noon),
        f"2017-06-05T12:00:00Z/{noon}": ("2017-06-05T12:00:00Z", noon),
    }
    for text, (start, end) in cases.items():
        expected = overlapping(start, end)
        assert expected, text
        page = api.get("/stac/search", params={"datetime": text, "limit": 1000})
        assert page.status_code == 200, (text, page.text)
        assert sorted(ids_of(page.json()["features"])) == expected, text
        posted = api.post("/stac/search", json={"datetime": text, "limit": 1000}).json()
        assert sorted(ids_of(posted["features"])) == expected, text
    items = api.get(f"/stac/collections/{OSTIA}/items", params={"datetime": noon}).json()
    assert ids_of(items["features"]) == [OSTIA_0606]


def test_other_apis_keep_taking_dates(api: Any) -> None:
    """Only STAC is strict: EDR and downloads still read a date as its day."""
    r = api.get(f"/download/{OSTIA}/estimate", params={"datetime": "2017-06-06"})
    assert r.status_code == 200, r.text
    r = api.get(
        f"/edr/collections/{OSTIA}/position",
        params={"coords": "POINT(-30 40)", "datetime": "2017-06-06", "f": "CoverageJSON"},
    )
    assert r.status_code == 200, r.text
    assert len(r.json()["domain"]["axes"]["t"]["values"]) == 1


# -- limit: above the maximum is the maximum -------------------------------------------------
def test_limit_over_the_maximum_is_the_maximum(
    api: Any, rows: list[dict[str, Any]], collection_docs: dict[str, Any], monkeypatch: Any
) -> None:
    everything = api.get("/stac/search", params={"limit": 100_000}).json()
    assert everything["numberReturned"] == len(rows)  # the maximum, 10 000, holds them all
    posted = api.post("/stac/search", json={"limit": 1_000_000}).json()
    assert posted["numberReturned"] == len(rows)
    from spaceclimate.api.stac import search

    monkeypatch.setattr(search, "MAX_LIMIT", 3)
    sm = sorted(r["id"] for r in rows if r["collection"] == "esa-cci-sm-combined")
    assert len(sm) > 3
    answers = {
        "GET /stac/search": api.get("/stac/search", params={"limit": 100_000}),
        "POST /stac/search": api.post("/stac/search", json={"limit": 100_000}),
        "GET items": api.get(
            "/stac/collections/esa-cci-sm-combined/items", params={"limit": 10, "sortby": "id"}
        ),
    }
    for where, r in answers.items():
        assert r.status_code == 200, (where, r.text)
        page = r.json()
        assert page["numberReturned"] == 3 == len(page["features"]), where
        assert any(lk["rel"] == "next" for lk in page["links"]), where
    page = answers["GET items"].json()
    assert ids_of(page["features"]) == sm[:3]
    nxt = next(lk["href"] for lk in page["links"] if lk["rel"] == "next")
    assert ids_of(api.get(nxt).json()["features"]) == sm[3:6]
    cols = api.get("/stac/collections", params={"limit": 500})
    assert cols.status_code == 200
    assert [c["id"] for c in cols.json()["collections"]] == sorted(collection_docs)[:3]
    assert cols.json()["numberMatched"] == len(collection_docs)
