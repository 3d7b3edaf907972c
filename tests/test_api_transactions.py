"""STAC Transactions: catalog-only collections and items, metadata of cube collections, versions,
atomic publishing with the audit log, and the data APIs' answers for collections without a cube.
"""

from __future__ import annotations

import copy
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr
from fastapi.testclient import TestClient
from sqlalchemy.engine import Connection
from typer.testing import CliRunner

from spaceclimate.access import Access, Actor, AuditEntry, AuditLog
from spaceclimate.api import create_app
from spaceclimate.catalog import open_catalog
from spaceclimate.catalog.sql import SQLCatalogBackend
from spaceclimate.config import Settings
from spaceclimate.publish.transactions import CatalogWriter, Current

from .opshub import bearer, make_key, small_hub, snapshot

OZONE = "esa-cci-ozone-tc"
CID = "esa-glacier-outlines"
TRANSACTION_CLASSES = {
    "https://api.stacspec.org/v1.0.0/ogcapi-features/extensions/transaction",
    "https://api.stacspec.org/v1.0.0/collections/extensions/transaction",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
}


@pytest.fixture()
def hub(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_hub(tmp_path, tmp_path_factory.getbasetemp())


@pytest.fixture()
def api(hub: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(home=hub, job_workers=0))) as c:
        yield c


@pytest.fixture()
def esa(hub: Path) -> dict[str, str]:
    return bearer(make_key(hub, "provider:ESA", name="ESA ops")[1])


def collection(cid: str = CID, **extra: Any) -> dict[str, Any]:
    return {
        "type": "Collection",
        "stac_version": "1.1.0",
        "id": cid,
        "title": "Glacier outlines",
        "description": "Outlines of glaciers, held by the provider.",
        "license": "CC-BY-4.0",
        "keywords": ["glaciers", "cryosphere"],
        "providers": [{"name": "ESA", "roles": ["producer", "licensor"]}],
        "extent": {
            "spatial": {"bbox": [[-30.0, 55.0, 40.0, 82.0]]},
            "temporal": {"interval": [["2000-01-01T00:00:00Z", "2010-12-31T23:59:59Z"]]},
        },
        "sco:ecv": "glaciers",
        **extra,
    }


def item(item_id: str, lon: float, lat: float, when: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "stac_version": "1.1.0",
        "id": item_id,
        "geometry": {
            "type": "Polygon",
            "coordinates": [
                [[lon, lat], [lon + 2, lat], [lon + 2, lat + 1], [lon, lat + 1], [lon, lat]]
            ],
        },
        "properties": {"datetime": when, "platform": "sentinel-2a"},
        "assets": {
            "data": {
                "href": f"https://data.example.org/{item_id}.gpkg",
                "type": "application/geopackage+sqlite3",
                "roles": ["data"],
            }
        },
        "links": [],
        **extra,
    }


def test_conformance_declares_transactions(api: TestClient) -> None:
    stac = set(api.get("/stac/conformance").json()["conformsTo"])
    assert TRANSACTION_CLASSES <= stac
    assert TRANSACTION_CLASSES <= set(api.get("/stac").json()["conformsTo"])
    assert TRANSACTION_CLASSES <= set(api.get("/conformance").json()["conformsTo"])
    operations = api.get("/api").json()["paths"]
    assert set(operations["/stac/collections"]) == {"get", "post"}
    assert set(operations["/stac/collections/{collection_id}"]) == {
        "get",
        "put",
        "patch",
        "delete",
    }
    item_path = operations["/stac/collections/{collection_id}/items/{item_id}"]
    assert set(item_path) == {"get", "put", "patch", "delete"}
    patch = item_path["patch"]["requestBody"]["content"]
    assert "application/merge-patch+json" in patch
    assert {"401", "403", "429"} <= set(operations["/stac/collections"]["post"]["responses"])


def test_catalog_only_collection_and_items(api: TestClient, hub: Path, esa: dict[str, str]) -> None:
    made = api.post("/stac/collections", json=collection(), headers=esa)
    assert made.status_code == 201, made.text
    assert made.headers["location"].endswith(f"/stac/collections/{CID}")
    doc = api.get(f"/stac/collections/{CID}").json()
    assert doc["sco:version"] == 1 and doc["sco:agencies"] == ["ESA"]
    assert "zarr" not in doc.get("assets", {})  # no cube: no cube asset or links
    rels = {lk["rel"] for lk in doc["links"]}
    assert {"self", "items", "root"} <= rels and not rels & {"alternate", "service", "xyz"}
    # items: one, then a FeatureCollection of two
    first = item("outlines-2000", 10.0, 60.0, "2000-07-01T00:00:00Z")
    r = api.post(f"/stac/collections/{CID}/items", json=first, headers=esa)
    assert r.status_code == 201, r.text
    assert r.json()["assets"]["data"]["href"] == "https://data.example.org/outlines-2000.gpkg"
    batch = {
        "type": "FeatureCollection",
        "features": [
            item("outlines-2005", -20.0, 64.0, "2005-07-01T00:00:00Z"),
            item("outlines-2010", 15.0, 78.0, "2010-07-01T00:00:00Z"),
        ],
    }
    r = api.post(f"/stac/collections/{CID}/items", json=batch, headers=esa)
    assert r.status_code == 201 and r.json()["numberReturned"] == 2
    served = api.get(f"/stac/collections/{CID}/items/outlines-2005").json()
    assert served["bbox"] == [-20.0, 64.0, -18.0, 65.0]  # from the geometry
    assert served["assets"] == batch["features"][0]["assets"]  # served as stored
    assert served["properties"]["sco:version"] == 3
    # search sees them like any item: by bbox, time, collection, agency, free text
    ids = [f["id"] for f in api.get(f"/stac/collections/{CID}/items").json()["features"]]
    assert ids == ["outlines-2000", "outlines-2005", "outlines-2010"]
    found = api.get("/stac/search", params={"bbox": "9,59.5,11,60.5", "collections": CID})
    assert [f["id"] for f in found.json()["features"]] == ["outlines-2000"]
    found = api.get(
        "/stac/search", params={"datetime": "2005-06-01T00:00:00Z/2011-01-01T00:00:00Z"}
    )
    assert [f["id"] for f in found.json()["features"]] == ["outlines-2005", "outlines-2010"]
    found = api.get(
        "/stac/search", params={"filter": "id LIKE 'outlines-%' AND \"sco:version\" = 3"}
    )
    assert len(found.json()["features"]) == 3, found.text
    cols = api.get("/stac/collections", params={"q": "glaciers"}).json()["collections"]
    assert [c["id"] for c in cols] == [CID]
    # replace and delete an item
    changed = item("outlines-2005", -21.0, 64.0, "2005-08-01T00:00:00Z")
    r = api.put(f"/stac/collections/{CID}/items/outlines-2005", json=changed, headers=esa)
    assert r.status_code == 200 and r.json()["bbox"][0] == -21.0
    assert (
        api.delete(f"/stac/collections/{CID}/items/outlines-2010", headers=esa).status_code == 204
    )
    assert api.get(f"/stac/collections/{CID}/items/outlines-2010").status_code == 404
    assert api.get(f"/stac/collections/{CID}/items").json()["numberMatched"] == 2
    # every transaction is a version; old versions stay as they were
    catalog = open_catalog(Settings(home=hub).resolved_catalog_url)
    try:
        versions = catalog.versions(CID)
        assert [v.version for v in versions] == [1, 2, 3, 4, 5]
        assert all(v.cube_href == "" and not v.sources for v in versions)
        assert catalog.get_collection_version(CID, 1)["sco:version"] == 1
    finally:
        catalog.close()
    con = sqlite3.connect(hub / "catalog.db")
    per_version = dict(
        con.execute(
            "select version, count(*) from sco_items where collection_id = ? group by version",
            (CID,),
        ).fetchall()
    )
    con.close()
    assert per_version == {2: 1, 3: 3, 4: 3, 5: 2}
    # the audit log names the key, the action, the item and the version
    admin = bearer(make_key(hub, "admin")[1])
    entries = api.get("/admin/audit", params={"collection": CID}, headers=admin).json()["entries"]
    assert [(e["action"], e["item_id"], e["version"]) for e in entries] == [
        ("item.delete", "outlines-2010", 5),
        ("item.replace", "outlines-2005", 4),
        ("item.create", "outlines-2010", 3),
        ("item.create", "outlines-2005", 3),
        ("item.create", "outlines-2000", 2),
        ("collection.create", None, 1),
    ]
    assert {e["key_name"] for e in entries} == {"ESA ops"}
    assert {e["client"] for e in entries} == {"testclient"}
    # delete the collection: records gone, audit kept; the id can be used again
    assert api.delete(f"/stac/collections/{CID}", headers=esa).status_code == 204
    assert api.get(f"/stac/collections/{CID}").status_code == 404
    assert api.get("/stac/search", params={"collections": CID}).status_code == 400
    assert api.post("/stac/collections", json=collection(), headers=esa).json()["sco:version"] == 1
    actions = [e["action"] for e in api.get("/admin/audit", headers=admin).json()["entries"]]
    assert actions[:2] == ["collection.create", "collection.delete"]


def test_round_trip_of_a_served_collection(api: TestClient, esa: dict[str, str]) -> None:
    api.post("/stac/collections", json=collection(), headers=esa)
    served = api.get(f"/stac/collections/{CID}").json()
    edited = {**copy.deepcopy(served), "title": "Glacier outlines, edited"}
    edited["links"].append({"rel": "license", "href": "https://example.org/licence"})
    r = api.put(f"/stac/collections/{CID}", json=edited, headers=esa)
    assert r.status_code == 200, r.text
    again = api.get(f"/stac/collections/{CID}").json()
    assert again["title"] == "Glacier outlines, edited" and again["sco:version"] == 2
    rels = [lk["rel"] for lk in again["links"]]
    assert sorted(rels) == sorted([lk["rel"] for lk in served["links"]] + ["license"])
    assert rels.count("self") == 1 and rels.count("license") == 1


def test_cube_collection_metadata_keeps_the_cube(
    api: TestClient, hub: Path, esa: dict[str, str]
) -> None:
    before = api.get(f"/stac/collections/{OZONE}").json()
    zarr_before = api.get(f"/zarr/{OZONE}/zarr.json").json()
    catalog = open_catalog(Settings(home=hub).resolved_catalog_url)
    v1 = catalog.latest_version(OZONE)
    sent = {
        **copy.deepcopy(before),
        "title": "Total ozone column (ESA CCI), edited",
        "keywords": ["ozone"],
        "cube:variables": {},  # ignored: the cube's
        "extent": {"spatial": {"bbox": [[0, 0, 1, 1]]}, "temporal": {"interval": [[None, None]]}},
        "assets": {"zarr": {"href": "elsewhere"}, "doc": {"href": "https://example.org/o3.pdf"}},
        "sco:agencies": ["NOAA"],  # ignored: the hub's
    }
    r = api.put(f"/stac/collections/{OZONE}", json=sent, headers=esa)
    assert r.status_code == 200, r.text
    after = api.get(f"/stac/collections/{OZONE}").json()
    assert after["title"].endswith("edited") and after["keywords"] == ["ozone"]
    for name in ("cube:variables", "cube:dimensions", "extent", "sco:agencies", "sco:ecv"):
        assert after[name] == before[name], name
    assert after["assets"]["zarr"] == before["assets"]["zarr"]
    assert after["assets"]["doc"]["href"] == "https://example.org/o3.pdf"
    v2 = catalog.latest_version(OZONE)
    catalog.close()
    assert v1 is not None and v2 is not None and v2.version == v1.version + 1
    assert (v2.cube_href, v2.sources, v2.cube_checksums) == (
        v1.cube_href,
        v1.sources,
        v1.cube_checksums,
    )
    assert api.get(f"/zarr/{OZONE}/zarr.json").json() == zarr_before
    # the data did not move: the cube of version 2 is the cube of version 1
    ds = xr.open_zarr(hub / "store" / v2.cube_href)
    var = next(iter(ds.data_vars))
    ref = xr.open_zarr(hub / "store" / v1.cube_href)
    np.testing.assert_array_equal(ds[var].values, ref[var].values)
    # items are source granules, and the collection is not deleted over HTTP
    r = api.post(
        f"/stac/collections/{OZONE}/items", json=item("x", 0, 0, "2005-05-01"), headers=esa
    )
    assert r.status_code == 409 and "POST /ingest" in r.json()["detail"]
    first = api.get(f"/stac/collections/{OZONE}/items").json()["features"][0]["id"]
    r = api.delete(f"/stac/collections/{OZONE}/items/{first}", headers=esa)
    assert r.status_code == 409
    r = api.delete(f"/stac/collections/{OZONE}", headers=esa)
    assert r.status_code == 409 and "cube" in r.json()["detail"]
    # the ingested granule item is still served with its download asset
    granule = api.get(f"/stac/collections/{OZONE}/items/{first}").json()
    assert granule["assets"]["source"]["href"].startswith("http://testserver/download/")


@pytest.mark.parametrize(
    ("change", "status", "fragment"),
    [
        ({"id": "bad id"}, 400, "body.id"),
        ({"license": ""}, 400, "body.license"),
        ({"extent": {"spatial": {"bbox": [[10, 0, -10, 5]]}}}, 400, "extent"),
        ({"cube:variables": {"x": {}}}, 400, "cube:variables"),
        ({"assets": {"a": {"href": "/data/local.nc"}}}, 400, "assets.a.href"),
        ({"assets": {"zarr": {"href": "https://x.org/c.zarr"}}}, 400, "assets.zarr"),
        ({"id": "noaa-ersst-v5", "providers": [{"name": "ESA"}]}, 409, "recipe"),
        ({"id": "area-mean-anything"}, 409, "area-mean"),
        ({"type": "Feature"}, 400, "body.type"),
    ],
)
def test_collection_validation(
    api: TestClient,
    hub: Path,
    esa: dict[str, str],
    change: dict[str, Any],
    status: int,
    fragment: str,
) -> None:
    before = snapshot(hub)
    r = api.post("/stac/collections", json=collection(**change), headers=esa)
    assert r.status_code == status, r.text
    assert fragment in r.json()["detail"]
    assert snapshot(hub) == before


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"properties": {}}, "properties.datetime"),
        ({"properties": {"datetime": None, "start_datetime": "2001-01-01"}}, "end_datetime"),
        ({"properties": {"datetime": "yesterday"}}, "RFC 3339"),
        ({"geometry": {"type": "Polygon", "coordinates": "x"}}, "geometry"),
        ({"geometry": None}, "bbox"),
        ({"bbox": [0, 0, 200, 1]}, "bbox"),
        ({"collection": "another"}, "body.collection"),
        ({"assets": {"a": {"href": "file.nc"}}}, "assets.a.href"),
        ({"properties": {"datetime": float("nan")}}, "body"),
    ],
)
def test_item_validation(
    api: TestClient, esa: dict[str, str], change: dict[str, Any], fragment: str
) -> None:
    api.post("/stac/collections", json=collection(), headers=esa)
    sent = {**item("i1", 0, 0, "2001-01-01T00:00:00Z"), **change}
    r = api.post(
        f"/stac/collections/{CID}/items",
        content=json.dumps(sent),
        headers={**esa, "content-type": "application/json"},
    )
    assert r.status_code == 400, r.text
    assert fragment in r.json()["detail"]
    assert api.get(f"/stac/collections/{CID}/items").json()["numberMatched"] == 0


def test_conflicts_and_mismatches(api: TestClient, esa: dict[str, str]) -> None:
    assert api.post("/stac/collections", json=collection(), headers=esa).status_code == 201
    assert api.post("/stac/collections", json=collection(), headers=esa).status_code == 409
    r = api.put(f"/stac/collections/{CID}", json=collection(id="other"), headers=esa)
    assert r.status_code == 400 and "body.id" in r.json()["detail"]
    assert (
        api.put("/stac/collections/nope", json=collection(id="nope"), headers=esa).status_code
        == 404
    )
    one = item("i1", 0, 0, "2001-01-01T00:00:00Z")
    assert api.post(f"/stac/collections/{CID}/items", json=one, headers=esa).status_code == 201
    assert api.post(f"/stac/collections/{CID}/items", json=one, headers=esa).status_code == 409
    r = api.put(
        f"/stac/collections/{CID}/items/i2", json=item("i2", 0, 0, "2001-01-01"), headers=esa
    )
    assert r.status_code == 404
    r = api.put(
        f"/stac/collections/{CID}/items/i1", json=item("i3", 0, 0, "2001-01-01"), headers=esa
    )
    assert r.status_code == 400
    # giving the collection away to another provider is refused
    r = api.put(
        f"/stac/collections/{CID}",
        json=collection(providers=[{"name": "NOAA"}]),
        headers=esa,
    )
    assert r.status_code == 403


def test_data_apis_answer_404_for_a_collection_without_cube(
    api: TestClient, hub: Path, esa: dict[str, str]
) -> None:
    api.post("/stac/collections", json=collection(), headers=esa)
    for path in (
        f"/zarr/{CID}/zarr.json",
        f"/zarr/{CID}",
        f"/download/{CID}",
        f"/download/{CID}/estimate",
    ):
        r = api.get(path)
        assert r.status_code == 404, (path, r.text)
        assert "catalog-only" in r.json()["detail"]
    assert (
        400
        <= api.get(f"/edr/collections/{CID}/position", params={"coords": "POINT(0 60)"}).status_code
        < 500
    )
    assert CID not in {c["collection"] for c in api.get("/zarr/").json()["cubes"]}
    assert CID not in {c["id"] for c in api.get("/download/").json()["collections"]}
    job = api.post(
        "/processes/area-mean/execution",
        json={"inputs": {"collection": CID, "bbox": [0, 60, 1, 61]}},
    )
    assert job.status_code in (400, 404)
    for path in ("/", "/tiles/", "/edr/collections", "/stac", "/stac/collections"):
        assert api.get(path).status_code == 200, path
    env = {"SCO_HOME": str(hub)}
    from spaceclimate.cli.main import app

    result = CliRunner().invoke(app, ["verify"], env=env)
    assert result.exit_code == 0, result.output
    assert "3 cube version(s)" in result.output


def test_publish_and_audit_are_one_transaction(hub: Path) -> None:
    """An audit entry that cannot be written takes the version down with it."""
    settings = Settings(home=hub)
    catalog = open_catalog(settings.resolved_catalog_url)
    assert isinstance(catalog, SQLCatalogBackend)
    access = Access(settings, catalog.engine)

    class BrokenAudit(AuditLog):
        def record(self, *entries: AuditEntry, conn: Connection | None = None) -> None:
            super().record(*entries, conn=conn)  # written, then the disk fills up
            raise OSError("disk full")

    doc = {**collection(), "sco:agencies": ["ESA"]}

    def change(current: Current) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        return doc, []

    def entries(version: int) -> list[AuditEntry]:
        return [AuditEntry("collection.create", Actor(), CID, version=version)]

    before = snapshot(hub)
    with pytest.raises(OSError, match="disk full"):
        CatalogWriter(catalog, BrokenAudit(catalog.engine), hub).publish(CID, change, entries)
    assert snapshot(hub) == before
    writer = CatalogWriter(catalog, access.audit, hub)
    saved, version = writer.publish(CID, change, entries)
    assert version == 1 and catalog.get_collection(CID)["sco:version"] == 1
    assert access.audit.list_entries(CID)[0]["version"] == 1
    catalog.close()


def _audit(api: TestClient, hub: Path) -> list[tuple[str, str | None, int | None]]:
    admin = bearer(make_key(hub, "admin")[1])
    entries = api.get("/admin/audit", params={"collection": CID}, headers=admin).json()["entries"]
    return [(e["action"], e["item_id"], e["version"]) for e in entries]


def test_patch_a_collection_and_an_item(api: TestClient, hub: Path, esa: dict[str, str]) -> None:
    made = api.post("/stac/collections", json=collection(), headers=esa)
    assert made.status_code == 201
    one = item("i1", 10.0, 60.0, "2001-01-01T00:00:00Z")
    one["properties"] = {"datetime": "2001-01-01T00:00:00Z", "platform": "sentinel-2a", "gsd": 10}
    assert api.post(f"/stac/collections/{CID}/items", json=one, headers=esa).status_code == 201
    merge = {**esa, "Content-Type": "application/merge-patch+json"}
    # a collection: members replaced, a null removes one, the rest stays
    r = api.patch(
        f"/stac/collections/{CID}",
        content=json.dumps({"title": "Glacier outlines, patched", "keywords": None}),
        headers=merge,
    )
    assert r.status_code == 200, r.text
    doc = api.get(f"/stac/collections/{CID}").json()
    assert doc["title"] == "Glacier outlines, patched" and "keywords" not in doc
    assert doc["description"] == collection()["description"] and doc["sco:version"] == 3
    assert doc["extent"] == collection()["extent"]
    # an item: properties merged member by member (plain JSON works too)
    r = api.patch(
        f"/stac/collections/{CID}/items/i1",
        json={"properties": {"platform": "sentinel-2b", "gsd": None, "cloud": 3.5}},
        headers=esa,
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/geo+json"
    got = api.get(f"/stac/collections/{CID}/items/i1").json()
    props = {k: v for k, v in got["properties"].items() if not k.startswith("sco:")}
    assert props == {"datetime": "2001-01-01T00:00:00Z", "platform": "sentinel-2b", "cloud": 3.5}
    assert got["geometry"] == one["geometry"] and got["assets"] == one["assets"]
    assert got["properties"]["sco:version"] == 4
    # a patch is checked like a replacement, and nothing is written when it fails
    noaa = bearer(make_key(hub, "provider:NOAA")[1])
    before = snapshot(hub)
    bad = [
        ({"properties": {"datetime": "yesterday"}}, 400, "RFC 3339"),
        ({"properties": {"datetime": None}}, 400, "properties.datetime"),
        ({"id": "i2"}, 400, "body.id"),
        ({"geometry": {"type": "Polygon", "coordinates": "x"}}, 400, "geometry"),
    ]
    for body, status, fragment in bad:
        r = api.patch(f"/stac/collections/{CID}/items/i1", json=body, headers=esa)
        assert r.status_code == status and fragment in r.json()["detail"], (body, r.text)
    r = api.patch(f"/stac/collections/{CID}", json={"license": None}, headers=esa)
    assert r.status_code == 400 and "license" in r.json()["detail"]
    r = api.patch(f"/stac/collections/{CID}", json={"id": "other"}, headers=esa)
    assert r.status_code == 400 and "body.id" in r.json()["detail"]
    r = api.patch(f"/stac/collections/{CID}", json=["title"], headers=esa)
    assert r.status_code == 400 and "merge patch" in r.json()["detail"]
    r = api.patch(
        f"/stac/collections/{CID}/items/i1",
        content=json.dumps([{"op": "replace", "path": "/properties/gsd", "value": 20}]),
        headers={**esa, "Content-Type": "application/json-patch+json"},
    )
    assert r.status_code == 415 and "merge patch" in r.json()["detail"]
    assert api.patch(f"/stac/collections/{CID}/items/nope", json={}, headers=esa).status_code == 404
    assert api.patch(f"/stac/collections/{CID}", json={"title": "x"}).status_code == 401
    assert (
        api.patch(f"/stac/collections/{CID}", json={"title": "x"}, headers=noaa).status_code == 403
    )
    r = api.patch(f"/stac/collections/{CID}", json={"providers": [{"name": "NOAA"}]}, headers=esa)
    assert r.status_code == 403
    assert snapshot(hub) == before
    # every patch is a version, audited
    assert _audit(api, hub)[:2] == [("item.update", "i1", 4), ("collection.update", None, 3)]


def test_patch_a_cube_collection_keeps_its_cube(
    api: TestClient, hub: Path, esa: dict[str, str]
) -> None:
    before = api.get(f"/stac/collections/{OZONE}").json()
    patch = {"title": "Total ozone (patched)", "extent": None, "cube:variables": None}
    r = api.patch(f"/stac/collections/{OZONE}", json=patch, headers=esa)
    assert r.status_code == 200, r.text
    after = api.get(f"/stac/collections/{OZONE}").json()
    assert after["title"] == "Total ozone (patched)"
    for name in ("cube:variables", "cube:dimensions", "extent", "assets", "description"):
        assert after[name] == before[name], name
    assert after["sco:version"] == before["sco:version"] + 1
    item_id = api.get(f"/stac/collections/{OZONE}/items").json()["features"][0]["id"]
    r = api.patch(f"/stac/collections/{OZONE}/items/{item_id}", json={}, headers=esa)
    assert r.status_code == 409 and "POST /ingest" in r.json()["detail"]


def test_prefer_return_minimal(api: TestClient, esa: dict[str, str]) -> None:
    minimal = {**esa, "Prefer": "return=minimal"}
    made = api.post("/stac/collections", json=collection(), headers=minimal)
    assert made.status_code == 201 and made.json()["id"] == CID  # a creation says what it made
    one = item("i1", 0, 0, "2001-01-01T00:00:00Z")
    api.post(f"/stac/collections/{CID}/items", json=one, headers=esa)
    answers = [
        api.put(f"/stac/collections/{CID}", json=collection(title="Put"), headers=minimal),
        api.patch(f"/stac/collections/{CID}", json={"title": "Patched"}, headers=minimal),
        api.put(f"/stac/collections/{CID}/items/i1", json=one, headers=minimal),
        api.patch(f"/stac/collections/{CID}/items/i1", json={"bbox": None}, headers=minimal),
    ]
    for r in answers:
        assert r.status_code == 204 and r.content == b"", r.text
        assert r.headers["preference-applied"] == "return=minimal"
        assert "content-type" not in r.headers
    assert api.get(f"/stac/collections/{CID}").json()["title"] == "Patched"
    assert api.get(f"/stac/collections/{CID}/items/i1").json()["bbox"] == [0.0, 0.0, 2.0, 1.0]
    r = api.patch(f"/stac/collections/{CID}", json={"title": "Full"}, headers=esa)
    assert r.status_code == 200 and r.json()["title"] == "Full"


def test_missing_and_null_titles_are_left_out(api: TestClient, esa: dict[str, str]) -> None:
    untitled = collection()
    del untitled["title"]
    assert api.post("/stac/collections", json=untitled, headers=esa).status_code == 201
    nulls = collection("esa-glacier-nulls", title=None)
    nulls["links"] = [{"rel": "license", "href": "https://example.org/l", "title": None}]
    assert api.post("/stac/collections", json=nulls, headers=esa).status_code == 201
    landing = api.get("/stac").json()
    children = {lk["href"].rsplit("/", 1)[1]: lk for lk in landing["links"] if lk["rel"] == "child"}
    for cid in (CID, "esa-glacier-nulls"):
        assert "title" not in children[cid], children[cid]
        doc = api.get(f"/stac/collections/{cid}").json()
        assert "title" not in doc
        assert all(v is not None for lk in doc["links"] for v in lk.values()), doc["links"]
    for where in ("/stac", "/stac/collections", f"/stac/collections/{CID}"):
        text = api.get(where).text
        assert '"title":null' not in text.replace(" ", ""), where
    bad = collection("esa-glacier-bad")
    bad["links"] = [{"rel": "license", "href": "https://example.org/l", "title": 5}]
    r = api.post("/stac/collections", json=bad, headers=esa)
    assert r.status_code == 400 and "links[0].title" in r.json()["detail"]
