"""STAC documents as served: catalog records given absolute links and web-reachable assets.

The catalog stores records as they were built at ingest: a cube href relative to the store,
a source asset pointing at the ingested file on the hub's disk, no navigation links. Served,
each record gets ``self``/``root``/``parent`` links and hrefs a client can use:

- a collection's ``zarr`` asset and ``alternate`` link point at ``{base}/zarr/{cid}`` (the
  latest cube over HTTP, opened by ``xarray.open_zarr``); ``xyz`` and ``tilejson`` links per
  mapped variable point at the tile service, a ``service`` link at the EDR collection;
- an item's ``source`` asset becomes a NetCDF download of that item's slice of the cube
  (``{base}/download/{cid}?datetime=start/end&format=netcdf``); the original file's name,
  checksum and size stay as ``sco:source_file``; no local path is ever served.

Static items (products without time, ``sco:static``) have no datetime; STAC needs one, so they
are served with the open range ``0001-01-01T00:00:00Z``..``9999-12-31T23:59:59Z`` (valid at
any time, matching their collection's open ``[null, null]`` interval). Searches by time do not
return them: they have no time to match.
"""

from __future__ import annotations

import copy
from typing import Any
from urllib.parse import quote, urlencode

from spaceclimate.api.openapi import OPENAPI_MEDIA_TYPE
from spaceclimate.api.stac.queryables import QUERYABLES_REL
from spaceclimate.catalog.records import has_cube
from spaceclimate.catalog.stac import STAC_VERSION, ZARR_MEDIA_TYPE

JSON = "application/json"
GEOJSON = "application/geo+json"
OPENAPI = OPENAPI_MEDIA_TYPE
SCHEMA_JSON = "application/schema+json"
STATIC_START = "0001-01-01T00:00:00Z"
STATIC_END = "9999-12-31T23:59:59Z"
CATALOG_ID = "spaceclimate"
CATALOG_TITLE = "spaceclimate hub STAC API"
CATALOG_DESCRIPTION = (
    "Satellite climate data records of many agencies, harmonised into analysis-ready cubes: "
    "one collection per product, one item per source granule."
)


def link(rel: str, href: str, media_type: str = JSON, **extra: Any) -> dict[str, Any]:
    """Return a STAC link object; a member given as None (a missing title) is left out."""
    return {
        "rel": rel,
        "href": href,
        "type": media_type,
        **{k: v for k, v in extra.items() if v is not None},
    }


def stac_root(base: str) -> str:
    """Return the STAC API root URL."""
    return f"{base}/stac"


def collection_href(base: str, cid: str) -> str:
    """Return the URL of a collection."""
    return f"{base}/stac/collections/{quote(cid, safe='')}"


def item_href(base: str, cid: str, item_id: str) -> str:
    """Return the URL of an item."""
    return f"{collection_href(base, cid)}/items/{quote(item_id, safe='')}"


def landing_page(
    base: str, conformance: list[str], collections: list[dict[str, Any]]
) -> dict[str, Any]:
    """Return the STAC API landing page (a Catalog)."""
    root = stac_root(base)
    links = [
        link("self", root),
        link("root", root),
        link("conformance", f"{root}/conformance"),
        link("data", f"{root}/collections"),
        link("search", f"{root}/search", GEOJSON, method="GET", title="Item search (GET)"),
        link("search", f"{root}/search", GEOJSON, method="POST", title="Item search (POST)"),
        link(QUERYABLES_REL, f"{root}/queryables", SCHEMA_JSON, title="Queryables"),
        link("service-desc", f"{base}/api", OPENAPI, title="OpenAPI definition"),
        link("service-doc", f"{base}/docs", "text/html", title="Interactive API documentation"),
    ]
    for doc in collections:
        links.append(link("child", collection_href(base, doc["id"]), title=doc.get("title")))
    return {
        "type": "Catalog",
        "stac_version": STAC_VERSION,
        "id": CATALOG_ID,
        "title": CATALOG_TITLE,
        "description": CATALOG_DESCRIPTION,
        "conformsTo": conformance,
        "links": links,
    }


def _spatial_dims(doc: dict[str, Any]) -> set[str]:
    dims = doc.get("cube:dimensions", {})
    return {name for name, d in dims.items() if d.get("type") == "spatial"}


def mapped_variables(doc: dict[str, Any]) -> list[str]:
    """Return the data variables of a collection that have both horizontal dimensions."""
    spatial = _spatial_dims(doc)
    out = []
    for name, var in doc.get("cube:variables", {}).items():
        if var.get("type") == "data" and len(spatial & set(var.get("dimensions", []))) >= 2:
            out.append(name)
    return out


def _absolute(lk: dict[str, Any], base: str) -> dict[str, Any]:
    """Stored links may be root-relative (``/stac/collections/x``): make them absolute.

    Null members (``"title": null``) are left out: STAC wants strings there or nothing.
    """
    out = {k: v for k, v in lk.items() if v is not None}
    href = str(out.get("href", ""))
    return {**out, "href": base + href} if href.startswith("/") else out


def collection_out(doc: dict[str, Any], base: str) -> dict[str, Any]:
    """Return a catalog Collection as served: absolute links and the cube asset over HTTP.

    A catalog-only collection (no cube on the hub, see :mod:`spaceclimate.catalog.records`)
    is served with its own assets and navigation links only.
    """
    out = copy.deepcopy(doc)
    if out.get("title", "") is None:
        del out["title"]  # STAC: a string or nothing
    cid = out["id"]
    here = collection_href(base, cid)
    root = stac_root(base)
    links = [_absolute(lk, base) for lk in out.get("links", []) if lk.get("rel") not in _NAV_RELS]
    links += [
        link("self", here),
        link("root", root),
        link("parent", root),
    ]
    if not has_cube(out):
        links += [
            link("items", f"{here}/items", GEOJSON, title="Items"),
            link(QUERYABLES_REL, f"{here}/queryables", SCHEMA_JSON, title="Queryables"),
        ]
        out["links"] = links
        return out
    zarr_href = f"{base}/zarr/{quote(cid, safe='')}"
    out["assets"]["zarr"]["href"] = zarr_href
    links += [
        link("items", f"{here}/items", GEOJSON, title="Items (source granules)"),
        link(QUERYABLES_REL, f"{here}/queryables", SCHEMA_JSON, title="Queryables"),
        link("alternate", zarr_href, ZARR_MEDIA_TYPE, title="Zarr v3 cube (latest version)"),
        link(
            "service",
            f"{base}/edr/collections/{quote(cid, safe='')}",
            JSON,
            title="OGC API EDR: position, area and cube queries",
        ),
    ]
    for var in mapped_variables(out):
        tiles = f"{base}/tiles/{quote(cid, safe='')}/{quote(var, safe='')}"
        links.append(link("xyz", tiles + "/{z}/{x}/{y}.png", "image/png", title=f"{var} map tiles"))
        links.append(link("tilejson", f"{tiles}/tilejson.json", JSON, title=f"{var} TileJSON"))
    out["links"] = links
    return out


_NAV_RELS = {"self", "root", "parent", "collection", "items", "next", "prev"}


def _time_range(props: dict[str, Any]) -> tuple[str | None, str | None]:
    start = props.get("start_datetime") or props.get("datetime")
    end = props.get("end_datetime") or props.get("datetime")
    return start, end


def _is_granule(doc: dict[str, Any]) -> bool:
    """Whether an item is a granule of a cube (items of catalog-only collections are not).

    Items of catalog-only collections (``sco:catalog_only``) point at data held elsewhere:
    they are served as stored, with navigation links.
    """
    return not (doc.get("properties") or {}).get("sco:catalog_only")


def item_out(doc: dict[str, Any], base: str) -> dict[str, Any]:
    """Return a catalog Item as served: links, a download asset, and a valid time.

    *doc* is not changed: the parts rewritten here (properties, assets, links) are copied,
    the rest is shared with it (a page of items is served without deep copies).
    """
    out = dict(doc)
    cid = out["collection"]
    if not _is_granule(out):
        here = item_href(base, cid, out["id"])
        parent = collection_href(base, cid)
        own = [lk for lk in out.get("links", []) if lk.get("rel") not in _NAV_RELS]
        kept = [_absolute(lk, base) for lk in own]
        out["links"] = [
            *kept,
            link("self", here, GEOJSON),
            link("parent", parent),
            link("collection", parent),
            link("root", stac_root(base)),
        ]
        return out
    props = out["properties"] = dict(out.get("properties") or {})
    static = props.get("datetime") is None and not (
        props.get("start_datetime") and props.get("end_datetime")
    )
    if static:
        props["datetime"] = None
        props["start_datetime"], props["end_datetime"] = STATIC_START, STATIC_END
        props["sco:static"] = True
    query: dict[str, str] = {}
    if not static:
        start, end = _time_range(props)
        query["datetime"] = f"{start}/{end}"
    query["format"] = "netcdf"
    download = f"{base}/download/{quote(cid, safe='')}?{urlencode(query, safe=':/')}"
    assets = out["assets"] = dict(out.get("assets") or {})
    source = assets.pop("source", None)
    served: dict[str, Any] = {
        "href": download,
        "type": "application/x-netcdf",
        "title": "Harmonised data of this granule (NetCDF download)",
        "roles": ["data"],
    }
    if source is not None:
        served["sco:source_file"] = {
            k: source[k] for k in ("title", "type", "file:checksum", "file:size") if k in source
        }
    assets["source"] = served
    out["stac_extensions"] = [e for e in out.get("stac_extensions", []) if "/file/" not in e]
    here = item_href(base, cid, out["id"])
    parent = collection_href(base, cid)
    links = [lk for lk in out.get("links", []) if lk.get("rel") not in _NAV_RELS]
    out["links"] = [
        *links,
        link("self", here, GEOJSON),
        link("parent", parent),
        link("collection", parent),
        link("root", stac_root(base)),
    ]
    return out
