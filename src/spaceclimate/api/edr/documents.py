"""EDR documents built from STAC Collections: collection metadata, data queries, parameters.

Everything here is derived from the catalog's Collection documents (``cube:dimensions``,
``cube:variables``, ``sci:*``, ``sco:ecv``) and the ECV table; no cube is opened.
"""

from __future__ import annotations

from typing import Any

from spaceclimate.ecv import get_ecv, get_variable
from spaceclimate.errors import InputError, RecipeError

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CRS84_WKT = (
    'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],'
    'PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433],AXIS["Longitude",EAST],'
    'AXIS["Latitude",NORTH]]'
)
TRS_WKT = (
    'TIMECRS["DateTime",TDATUM["Gregorian Calendar"],CS[TemporalDateTime,1],'
    'AXIS["Time (T)",future]]'
)
CF_STANDARD_NAME = "https://vocab.nerc.ac.uk/standard_name/{}/"
COVJSON = "application/prs.coverage+json"
OUTPUT_FORMATS = ("CoverageJSON", "CSV", "NetCDF")
QUERY_TEMPLATES = {
    "position": ("coords", "POINT(lon lat)", "Time series at the grid cell nearest a point"),
    "area": ("coords", "POLYGON((lon lat, ...))", "Every grid cell inside a polygon (or bbox)"),
    "cube": ("bbox", "minlon,minlat,maxlon,maxlat", "Every grid cell of a bbox"),
}


def spatial_dims(collection: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Return the collection's horizontal spatial dimensions (``{name: cube:dimension}``)."""
    dims = collection.get("cube:dimensions") or {}
    return {
        name: dim
        for name, dim in dims.items()
        if dim.get("type") == "spatial" and dim.get("axis") in ("x", "y")
    }


def is_gridded(collection: dict[str, Any]) -> bool:
    """Return whether a collection is a gridded cube (has x and y spatial dimensions)."""
    return {d.get("axis") for d in spatial_dims(collection).values()} == {"x", "y"}


def require_gridded(collection: dict[str, Any]) -> None:
    """Raise InputError (400) for a collection without a spatial grid."""
    if not is_gridded(collection):
        raise InputError(
            f"collection {collection.get('id')!r} is a series without a spatial grid; EDR "
            f"serves gridded collections only: get it from /download/{collection.get('id')}"
        )


def data_variables(collection: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Return the collection's data variables (``cube:variables`` of type data)."""
    variables = collection.get("cube:variables") or {}
    return {k: v for k, v in variables.items() if v.get("type", "data") == "data"}


def observed_property(name: str, variable: dict[str, Any], ecv_id: str | None) -> dict[str, Any]:
    """Return the observed property of a variable from its CF standard name and the ECV table."""
    standard_name = variable.get("sco:standard_name")
    label = str(variable.get("description") or name)
    description = ""
    try:
        canonical = get_variable(name)
        standard_name = standard_name or canonical.standard_name
        label = canonical.long_name
        description = f"{get_ecv(canonical.ecv).title} (GCOS ECV)"
    except RecipeError:
        if ecv_id:
            try:
                description = f"{get_ecv(ecv_id).title} (GCOS ECV)"
            except RecipeError:
                description = ""
    prop: dict[str, Any] = {"label": label}
    if standard_name:
        prop["id"] = CF_STANDARD_NAME.format(standard_name)
    if description:
        prop["description"] = description
    return prop


def parameter_names(collection: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Return EDR ``parameter_names``: units and observed property of each data variable."""
    out: dict[str, dict[str, Any]] = {}
    ecv_id = collection.get("sco:ecv")
    for name, variable in data_variables(collection).items():
        unit = str(variable.get("unit", ""))
        out[name] = {
            "type": "Parameter",
            "id": name,
            "label": str(variable.get("description") or name),
            "description": str(variable.get("description") or name),
            "data-type": "float",
            "unit": {"label": unit, "symbol": unit},
            "observedProperty": observed_property(name, variable, ecv_id),
        }
    return out


def extent(collection: dict[str, Any]) -> dict[str, Any]:
    """Return the EDR extent: spatial bbox (CRS84), temporal interval and vertical levels."""
    stac_extent = collection.get("extent") or {}
    bbox = (stac_extent.get("spatial") or {}).get("bbox") or [[-180.0, -90.0, 180.0, 90.0]]
    out: dict[str, Any] = {"spatial": {"bbox": bbox, "crs": CRS84_WKT, "name": "CRS84"}}
    dims = collection.get("cube:dimensions") or {}
    if "time" in dims:
        interval = (stac_extent.get("temporal") or {}).get("interval") or [
            dims["time"].get("extent")
        ]
        out["temporal"] = {"interval": interval, "trs": TRS_WKT, "name": "Gregorian"}
    for name, dim in dims.items():
        if dim.get("type") == "spatial" and dim.get("axis") == "z":
            vertical: dict[str, Any] = {"interval": [dim.get("extent")], "name": name}
            if dim.get("values"):
                vertical["values"] = dim["values"]
            vertical["vrs"] = str(dim.get("reference_system", name))
            out["vertical"] = vertical
    return out


def data_queries(base: str, collection_id: str) -> dict[str, Any]:
    """Return EDR ``data_queries``: a templated link for position, area and cube."""
    out: dict[str, Any] = {}
    for query, (param, example, title) in QUERY_TEMPLATES.items():
        out[query] = {
            "link": {
                "href": f"{base}/edr/collections/{collection_id}/{query}?{param}={{{param}}}",
                "rel": "data",
                "title": title,
                "templated": True,
                "variables": {
                    "title": f"{query.capitalize()} query",
                    "description": f"{title}; {param}={example}",
                    "query_type": query,
                    "output_formats": list(OUTPUT_FORMATS),
                    "default_output_format": "CoverageJSON",
                    "crs_details": [{"crs": "CRS84", "wkt": CRS84_WKT}],
                },
            }
        }
    return out


def collection_links(base: str, collection: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the links of an EDR collection: self, root, STAC record, licence, queries."""
    cid = collection["id"]
    links: list[dict[str, Any]] = [
        {"rel": "self", "href": f"{base}/edr/collections/{cid}", "type": "application/json"},
        {"rel": "root", "href": f"{base}/edr", "type": "application/json"},
        {
            "rel": "alternate",
            "href": f"{base}/stac/collections/{cid}",
            "type": "application/json",
            "title": "STAC Collection",
        },
        {
            "rel": "enclosure",
            "href": f"{base}/download/{cid}",
            "type": "application/x-netcdf",
            "title": "Download (NetCDF, CSV, GeoTIFF)",
        },
    ]
    for link in collection.get("links") or []:
        if link.get("rel") in ("license", "cite-as"):
            links.append(dict(link))
    for query in QUERY_TEMPLATES:
        links.append(
            {
                "rel": "data",
                "href": f"{base}/edr/collections/{cid}/{query}",
                "type": COVJSON,
                "title": f"{query.capitalize()} query",
            }
        )
    return links


def edr_collection(base: str, collection: dict[str, Any]) -> dict[str, Any]:
    """Return the EDR description of a gridded collection."""
    cid = collection["id"]
    keywords = list(collection.get("keywords") or [])
    return {
        "id": cid,
        "title": collection.get("title", cid),
        "description": collection.get("description", ""),
        "keywords": keywords,
        "links": collection_links(base, collection),
        "extent": extent(collection),
        "data_queries": data_queries(base, cid),
        "crs": ["CRS84"],
        "output_formats": list(OUTPUT_FORMATS),
        "parameter_names": parameter_names(collection),
    }
