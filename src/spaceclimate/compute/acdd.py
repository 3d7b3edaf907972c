"""ACDD-1.3 global attributes of a download: who made the data, and what the file covers.

Two sources:

* :func:`collection_acdd` reads the collection's STAC metadata (title, description,
  keywords, providers, licence, citation, platforms and instruments) into the ACDD
  discovery attributes; providers become ``creator_*`` (the producers), ``contributor_*``
  (the others, with their STAC roles) and the hub itself the ``publisher_*`` (a cube that
  names its creator's contact, from its source files or its recipe, keeps its own creator:
  see :data:`spaceclimate.compute.export.CREATOR_ATTRS`);
* :func:`extent_acdd` measures the selection actually written: ``geospatial_*`` from its own
  latitude and longitude (cell centres, as ACDD readers compare them), ``time_coverage_*``
  from its time stamps, so a subset never claims the whole collection's extent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from spaceclimate.compute.grids import grid_kind
from spaceclimate.ecv import get_ecv
from spaceclimate.errors import RecipeError

#: The hub, publisher of every download.
PUBLISHER = "Space Climate Observatory data hub"
#: Version of the CF standard name table the ECV table's standard names are taken from.
STANDARD_NAME_VOCABULARY = "CF Standard Name Table v93"
#: Coordinate reference system of the geospatial_* attributes (lon/lat on WGS 84).
BOUNDS_CRS = "EPSG:4326"
#: Global attributes that describe the collection's extent, replaced by the selection's.
EXTENT_ATTRS = (
    "geospatial_lat_min",
    "geospatial_lat_max",
    "geospatial_lon_min",
    "geospatial_lon_max",
    "geospatial_lat_resolution",
    "geospatial_lon_resolution",
    "geospatial_bounds",
    "geospatial_bounds_crs",
    "time_coverage_start",
    "time_coverage_end",
    "time_coverage_duration",
)


def _names(providers: list[Mapping[str, Any]]) -> str:
    return ", ".join(str(p.get("name", "")) for p in providers if p.get("name"))


def collection_acdd(collection: Mapping[str, Any], hub_url: str | None = None) -> dict[str, Any]:
    """Return the ACDD discovery attributes of a collection, read from its STAC document.

    Parameters
    ----------
    collection
        The STAC Collection (``title``, ``description``, ``keywords``, ``providers``,
        ``summaries``, ``sci:citation``, ``version``).
    hub_url
        The hub's public base URL, for ``publisher_url`` and ``metadata_link``.
    """
    attrs: dict[str, Any] = {
        "Conventions": "CF-1.10, ACDD-1.3",
        "standard_name_vocabulary": STANDARD_NAME_VOCABULARY,
        "publisher_name": PUBLISHER,
        "publisher_type": "institution",
        "publisher_institution": PUBLISHER,
    }
    cid = str(collection.get("id", ""))
    if cid:
        attrs["id"] = cid
        attrs["naming_authority"] = "org.spaceclimate"
    named = (("title", "title"), ("description", "summary"), ("version", "product_version"))
    for key, attr in named:
        if collection.get(key):
            attrs[attr] = str(collection[key])
    if collection.get("keywords"):
        attrs["keywords"] = ", ".join(str(k) for k in collection["keywords"])
    providers = [p for p in collection.get("providers") or [] if isinstance(p, Mapping)]
    producers = [p for p in providers if "producer" in (p.get("roles") or [])] or providers[:1]
    others = [p for p in providers if p not in producers]
    if producers:
        attrs["creator_name"] = _names(producers)
        attrs["creator_type"] = "institution"
        attrs["creator_institution"] = _names(producers)
        attrs["institution"] = _names(producers)
        urls = [str(p["url"]) for p in producers if p.get("url")]
        if urls:
            attrs["creator_url"] = ", ".join(urls)
    if others:
        attrs["contributor_name"] = _names(others)
        attrs["contributor_role"] = ", ".join(
            "/".join(str(r) for r in p.get("roles") or ["contributor"]) for p in others
        )
    summaries = collection.get("summaries") or {}
    for key, attr in (("platform", "platform"), ("instruments", "instrument")):
        values = [str(v) for v in summaries.get(key) or []]
        if values:
            attrs[attr] = ", ".join(values)
    attrs.update(_vertical(str(collection.get("sco:ecv") or "")))
    # a static product (no time axis) covers the period of its collection's temporal extent
    intervals = ((collection.get("extent") or {}).get("temporal") or {}).get("interval") or []
    if intervals and len(intervals[0]) == 2 and all(intervals[0]):
        attrs["time_coverage_start"], attrs["time_coverage_end"] = map(str, intervals[0])
    citation = str(collection.get("sci:citation") or "").strip()
    if producers:
        thanks = f"Data produced by {_names(producers)}"
        attrs["acknowledgement"] = f"{thanks}; please cite: {citation}" if citation else thanks
    if hub_url:
        base = hub_url.rstrip("/")
        attrs["publisher_url"] = base
        if cid:
            attrs["metadata_link"] = f"{base}/stac/collections/{cid}"
    return attrs


def _vertical(ecv_id: str) -> dict[str, Any]:
    """Return the ``geospatial_vertical_*`` attributes of an ECV's products, if it has them."""
    try:
        vertical = get_ecv(ecv_id).vertical if ecv_id else None
    except RecipeError:
        vertical = None
    if vertical is None:
        return {}
    attrs: dict[str, Any] = {
        "geospatial_vertical_min": vertical.min,
        "geospatial_vertical_max": vertical.max,
        "geospatial_vertical_units": vertical.units,
        "geospatial_vertical_positive": vertical.positive,
    }
    if vertical.crs:
        attrs["geospatial_bounds_vertical_crs"] = vertical.crs
    return attrs


def _step(values: np.ndarray) -> float | None:
    values = np.unique(values[np.isfinite(values)])
    if values.size < 2:
        return None
    return float(np.median(np.diff(values)))


def _duration(seconds: float) -> str:
    """Return an ISO 8601 duration (``P31D``, ``P1DT12H``, ``PT3600S``)."""
    whole = int(round(seconds))
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = "".join(f"{v}{u}" for v, u in ((hours, "H"), (minutes, "M"), (secs, "S")) if v)
    text = "P" + (f"{days}D" if days else "") + (f"T{clock}" if clock else "")
    return text if text != "P" else "PT0S"


def _iso(value: np.datetime64) -> str:
    return pd.Timestamp(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def _time_extent(ds: xr.Dataset) -> dict[str, str]:
    """Time coverage as ACDD defines it: the first and last data points' time stamps.

    The cells those stamps stand for stay in ``time_bnds`` (CF); ACDD's start and end
    name "the time of the first (last) data point", which ACDD readers compare with the
    time coordinate.
    """
    if "time" not in ds.dims or ds.sizes["time"] == 0:
        return {}
    times = np.asarray(ds["time"].values).astype("datetime64[s]")
    start, end = times.min(), times.max()
    seconds = float((end - start) / np.timedelta64(1, "s"))
    return {
        "time_coverage_start": _iso(start),
        "time_coverage_end": _iso(end),
        "time_coverage_duration": _duration(seconds),
    }


def _bounds_wkt(west: float, south: float, east: float, north: float) -> str:
    corners = [(west, south), (east, south), (east, north), (west, north), (west, south)]
    return "POLYGON((" + ", ".join(f"{x:.6g} {y:.6g}" for x, y in corners) + "))"


def extent_acdd(ds: xr.Dataset) -> dict[str, Any]:
    """Return the ``geospatial_*`` and ``time_coverage_*`` attributes of a selection.

    Latitude and longitude limits are the extremes of the selection's own ``lat``/``lon``
    (cell centres; the 2-D coordinates on projected grids); resolutions are the grid
    steps, in degrees on regular grids and in metres of the projection on projected ones.
    The time coverage runs from the first time stamp to the last. Gridless series keep the
    extent of the area they describe (the cube's own ``geospatial_*``), as a polygon too.
    """
    attrs: dict[str, Any] = dict(_time_extent(ds))
    kind = grid_kind(ds)
    if kind == "none" or "lat" not in ds.variables or "lon" not in ds.variables:
        names = ("geospatial_lon_min", "geospatial_lat_min", "geospatial_lon_max")
        values = [ds.attrs.get(n) for n in (*names, "geospatial_lat_max")]
        box = [float(v) for v in values if isinstance(v, (int, float, np.number))]
        if len(box) == 4:
            attrs["geospatial_bounds"] = _bounds_wkt(*box)
            attrs["geospatial_bounds_crs"] = BOUNDS_CRS
        return attrs
    lat = np.asarray(ds["lat"].values, dtype="float64")
    lon = np.asarray(ds["lon"].values, dtype="float64")
    if not (np.isfinite(lat).any() and np.isfinite(lon).any()):
        return attrs
    south, north = float(np.nanmin(lat)), float(np.nanmax(lat))
    west, east = float(np.nanmin(lon)), float(np.nanmax(lon))
    attrs.update(
        geospatial_lat_min=south,
        geospatial_lat_max=north,
        geospatial_lon_min=west,
        geospatial_lon_max=east,
        geospatial_lat_units="degrees_north",
        geospatial_lon_units="degrees_east",
        geospatial_bounds_crs=BOUNDS_CRS,
        geospatial_bounds=_bounds_wkt(west, south, east, north),
    )
    if kind == "latlon":
        steps = {"lat": (_step(lat), "degrees_north"), "lon": (_step(lon), "degrees_east")}
    else:
        x = np.asarray(ds["x"].values, dtype="float64")
        y = np.asarray(ds["y"].values, dtype="float64")
        steps = {"lat": (_step(y), "m"), "lon": (_step(x), "m")}
    for axis, (step, units) in steps.items():
        if step is not None:
            attrs[f"geospatial_{axis}_resolution"] = f"{abs(step):g} {units}"
    return attrs
