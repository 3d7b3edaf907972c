"""Build STAC 1.1 Collections and Items (datacube, scientific, file extensions) for cubes."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import shapely.geometry
import xarray as xr
from pyproj import CRS

from spaceclimate.ecv import get_ecv, get_variable
from spaceclimate.ecv.models import Recipe
from spaceclimate.errors import RecipeError
from spaceclimate.harmonise.attrs import DISPLAY_SCALE_ATTR, DISPLAY_UNITS_ATTR
from spaceclimate.harmonise.binning import COVERAGE_ATTR, FOOTPRINT_ATTR, QUALITY_ATTR
from spaceclimate.harmonise.grid import lonlat_bbox
from spaceclimate.harmonise.metadata import iso, time_range
from spaceclimate.records import SourceRecord

STAC_VERSION = "1.1.0"
DATACUBE = "https://stac-extensions.github.io/datacube/v2.2.0/schema.json"
SCIENTIFIC = "https://stac-extensions.github.io/scientific/v1.0.0/schema.json"
FILE = "https://stac-extensions.github.io/file/v2.1.0/schema.json"
VERSION = "https://stac-extensions.github.io/version/v1.2.0/schema.json"
ZARR_MEDIA_TYPE = "application/vnd+zarr"
#: Link relations the hub's API adds to the documents it serves (a document sent back, or
#: pooled from another hub, keeps none of them: its own API adds them again).
SERVED_LINK_RELS = frozenset(
    {
        "self",
        "root",
        "parent",
        "collection",
        "items",
        "next",
        "prev",
        "alternate",
        "service",
        "xyz",
        "tilejson",
        "http://www.opengis.net/def/rel/ogc/1.0/queryables",
    }
)

_MEDIA = {
    "netcdf": "application/x-netcdf",
    "hdf4": "application/x-hdf",
    "geotiff": "image/tiff; application=geotiff",
    "zarr": ZARR_MEDIA_TYPE,
    "table": "text/csv",
}


def _polygon(bbox: tuple[float, float, float, float]) -> dict[str, Any]:
    w, s, e, n = bbox
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}


def _step(values: np.ndarray) -> float | None:
    if values.size < 2:
        return None
    diffs = np.diff(values.astype("float64"))
    return float(diffs[0]) if np.allclose(diffs, diffs[0], rtol=1e-4) else None


def cube_dimensions(ds: xr.Dataset, grid_type: str, time_step: str | None = None) -> dict[str, Any]:
    """Return the datacube extension's ``cube:dimensions`` of a harmonised dataset.

    *grid_type* is ``latlon``, ``projected`` or ``none``; *time_step* an ISO 8601 period.
    """
    dims: dict[str, Any] = {}
    span = time_range(ds)
    if span:
        dims["time"] = {"type": "temporal", "extent": list(span)}
        if time_step:
            dims["time"]["step"] = time_step
    if grid_type == "latlon":
        for name, axis in (("lon", "x"), ("lat", "y")):
            b = ds[f"{name}_bnds"].values
            dims[name] = {
                "type": "spatial",
                "axis": axis,
                "extent": [float(b.min()), float(b.max())],
                "step": _step(ds[name].values),
                "reference_system": 4326,
            }
    elif grid_type == "projected":
        crs = CRS.from_wkt(ds["crs"].attrs["crs_wkt"])
        epsg = crs.to_epsg()
        for name in ("x", "y"):
            b = ds[f"{name}_bnds"].values
            dims[name] = {
                "type": "spatial",
                "axis": name,
                "extent": [float(b.min()), float(b.max())],
                "step": _step(ds[name].values),
                "reference_system": epsg if epsg else crs.to_json_dict(),
            }
    for dim in ds.dims:
        if dim not in dims and dim != "bnds":
            attrs = ds[dim].attrs if dim in ds.coords else {}
            if attrs.get("axis") == "Z":  # a vertical axis (pressure levels of profiles)
                values = [float(v) for v in ds[dim].values]
                dims[str(dim)] = {
                    "type": "spatial",
                    "axis": "z",
                    "extent": [min(values), max(values)],
                    "values": values,
                    "unit": attrs.get("units"),
                }
                continue
            dims[str(dim)] = {"type": "other", "values": [str(v) for v in ds[dim].values]}
    return dims


def variable_names(name: str) -> dict[str, str]:
    """Return the names in other languages of a canonical variable (``{}`` for any other)."""
    try:
        return dict(get_variable(name).names)
    except RecipeError:
        return {}


def ecv_names(ecv_id: str) -> dict[str, str]:
    """Return an ECV's title in every language the ECV table gives (``{}`` if unknown)."""
    try:
        return get_ecv(ecv_id).all_names()
    except RecipeError:
        return {}


def cube_variables(ds: xr.Dataset) -> dict[str, Any]:
    """Return the datacube extension's ``cube:variables`` (data and auxiliary variables)."""
    out: dict[str, Any] = {}
    for name, var in ds.data_vars.items():
        out[str(name)] = {
            "type": "data",
            "dimensions": [str(d) for d in var.dims],
            "unit": var.attrs.get("units"),
            "description": var.attrs.get("long_name"),
        }
        if "standard_name" in var.attrs:
            out[str(name)]["sco:standard_name"] = var.attrs["standard_name"]
        if DISPLAY_UNITS_ATTR in var.attrs and DISPLAY_SCALE_ATTR in var.attrs:
            out[str(name)]["sco:display_units"] = str(var.attrs[DISPLAY_UNITS_ATTR])
            out[str(name)]["sco:display_scale"] = float(var.attrs[DISPLAY_SCALE_ATTR])
        names = variable_names(str(name))
        if names:
            out[str(name)]["sco:names"] = names
    for name in ("lat", "lon"):
        if name in ds.coords and ds[name].ndim == 2:
            out[name] = {
                "type": "auxiliary",
                "dimensions": [str(d) for d in ds[name].dims],
                "unit": ds[name].attrs.get("units"),
                "description": f"{name} of each projected cell centre",
            }
    return out


def build_collection(
    ds: xr.Dataset, recipe: Recipe, version: int, cube_href: str
) -> dict[str, Any]:
    """Return the STAC Collection of one published version of a collection."""
    ecv = get_ecv(recipe.ecv)
    bbox = list(lonlat_bbox(ds, recipe.grid))
    span = time_range(ds)
    keywords = list(
        dict.fromkeys(
            [ecv.title, recipe.ecv, *recipe.agencies, *recipe.missions, *recipe.instruments]
            + recipe.keywords
            + ([] if recipe.kind == "satellite" else [recipe.kind])
        )
    )
    links: list[dict[str, Any]] = []
    if recipe.license.url:
        links.append({"rel": "license", "href": recipe.license.url, "title": recipe.license.text})
    if recipe.doi:
        links.append({"rel": "cite-as", "href": f"https://doi.org/{recipe.doi}"})
    collection: dict[str, Any] = {
        "type": "Collection",
        "stac_version": STAC_VERSION,
        "stac_extensions": [DATACUBE, SCIENTIFIC, VERSION],
        "id": recipe.id,
        "title": recipe.title,
        "description": recipe.description,
        "license": recipe.license.id,
        "keywords": keywords,
        "providers": [p.model_dump(exclude_none=True) for p in recipe.providers],
        "extent": {
            "spatial": {"bbox": [bbox]},
            "temporal": {"interval": [list(span) if span else [None, None]]},
        },
        "summaries": {
            "platform": recipe.missions,
            "instruments": recipe.instruments,
            "variables": recipe.published_variables,
        },
        "cube:dimensions": cube_dimensions(
            ds, recipe.grid.type, recipe.time.resolution if recipe.time else None
        ),
        "cube:variables": cube_variables(ds),
        "sci:citation": recipe.citation,
        "version": recipe.product_version,
        "sco:ecv": recipe.ecv,
        "sco:ecv_names": ecv.all_names(),
        "sco:agencies": recipe.agencies,
        "sco:kind": recipe.kind,
        "sco:version": version,
        "sco:recipe": recipe.id,
        "sco:colormaps": {
            v: {"colormap": get_variable(v).colormap, "range": list(get_variable(v).display_range)}
            for v in recipe.published_variables
        },
        "assets": {
            "zarr": {
                "href": cube_href,
                "type": ZARR_MEDIA_TYPE,
                "title": "Harmonised Zarr v3 cube",
                "roles": ["data"],
                "sco:zarr_format": 3,
            }
        },
        "links": links,
    }
    if recipe.doi:
        collection["sci:doi"] = recipe.doi
    if recipe.publications:
        collection["sci:publications"] = recipe.publications
    if recipe.grid.type == "none":
        collection["sco:region_bbox"] = bbox
    return collection


def build_item(
    ds: xr.Dataset, recipe: Recipe, source: SourceRecord, href: str, version: int
) -> dict[str, Any]:
    """Return the STAC Item of one source file, from its own harmonised dataset."""
    bbox = list(lonlat_bbox(ds, recipe.grid))
    span = time_range(ds)
    props: dict[str, Any] = {
        "sco:ecv": recipe.ecv,
        "sco:version": version,
        "sco:variables": recipe.published_variables,
    }
    if span and span[0] != span[1]:
        props["datetime"] = None
        props["start_datetime"], props["end_datetime"] = span
    elif span:
        props["datetime"] = span[0]
    else:
        props["datetime"] = None
        props["sco:static"] = True
    if "time" in ds.dims:
        props["sco:time_steps"] = int(ds.sizes["time"])
        props["sco:first_time"] = iso(ds["time"].values.min())
    geometry = _polygon((bbox[0], bbox[1], bbox[2], bbox[3]))
    if COVERAGE_ATTR in ds.attrs:  # a binned level-2 granule: its own time and outline
        props.pop("sco:first_time", None)
        props["sco:steps"] = [iso(t) for t in ds["time"].values]  # the steps it feeds
        props["datetime"] = None
        props["start_datetime"], props["end_datetime"] = str(ds.attrs[COVERAGE_ATTR]).split("/")
        props["sco:processing_level"] = "L2"
        if QUALITY_ATTR in ds.attrs:
            props["sco:quality_filter"] = str(ds.attrs[QUALITY_ATTR])
    if FOOTPRINT_ATTR in ds.attrs:
        geometry = json.loads(str(ds.attrs[FOOTPRINT_ATTR]))
        bbox = [round(float(v), 4) for v in shapely.geometry.shape(geometry).bounds]
    return {
        "type": "Feature",
        "stac_version": STAC_VERSION,
        "stac_extensions": [FILE],
        "id": source.item_id,
        "collection": recipe.id,
        "bbox": bbox,
        "geometry": geometry,
        "properties": props,
        "assets": {
            "source": {
                "href": href,
                "title": source.name,
                "type": _MEDIA.get(recipe.reader, "application/octet-stream"),
                "roles": ["source"],
                "file:checksum": "1220" + source.sha256,
                "file:size": source.size,
            }
        },
        "links": [],
    }
