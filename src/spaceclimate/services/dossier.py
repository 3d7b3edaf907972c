"""A place's dossier: what every pooled collection records at a point or over an area.

:func:`build_dossier` walks the catalog once. For each collection with a gridded cube it
reads the series of its variables at the place, the cell nearest a point (from the cube's
series copy, as EDR position queries do: :mod:`spaceclimate.store.pointread`) or the
area-weighted mean over a polygon (:func:`spaceclimate.compute.regions.regional_mean`), and
summarises each with :func:`spaceclimate.compute.dossier.summarise`: record, climatology,
latest anomaly and trend. Every collection considered is answered, either with its data or
under ``no_data`` with a one-line reason (outside the grid, no valid value there, a profile
product, a gridless series, a derived product).

The variables are a collection's own: those another variable names as ancillary (counts,
spreads) and uncertainty-like companions are left out. Profile products (a vertical
dimension) are listed under ``no_data``: one level would be an arbitrary choice; EDR position
queries with ``z`` read any level.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeAlias

import numpy as np
import xarray as xr
from shapely.geometry import Point, mapping
from shapely.geometry.base import BaseGeometry

from spaceclimate.catalog.records import cube_href, has_cube
from spaceclimate.compute.dossier import (
    CONFIDENCE,
    MIN_CLIMATOLOGY_YEARS,
    MIN_TREND_STEPS,
    MIN_TREND_YEARS,
    MONTHLY_CADENCE_DAYS,
    summarise,
)
from spaceclimate.compute.regions import parse_geometry, regional_mean
from spaceclimate.compute.subset import (
    estimate_bytes,
    grid_kind,
    nearest_cell,
    select_polygon,
    select_variables,
    spatial_dims,
    vertical_dim,
)
from spaceclimate.errors import InputError
from spaceclimate.services.context import HubContext, human_bytes
from spaceclimate.store.pointread import load_position

Place: TypeAlias = tuple[float, float] | BaseGeometry | Mapping[str, Any] | str
#: Names of companion variables (not the collection's own quantity).
COMPANION = re.compile(r"_(count|std|sd|sigma|uncertainty|missing|error)$")
METHOD = {
    "point": "the grid cell nearest the point (the cell EDR position queries answer)",
    "area": "the area-weighted mean of the cells whose centres lie inside the polygon",
    "climatology": (
        "mean of each calendar month over the whole record for data a month apart or finer "
        f"(up to {MONTHLY_CADENCE_DAYS:g} days), one mean of the record for coarser data; "
        f"needs valid values in {MIN_CLIMATOLOGY_YEARS} calendar years"
    ),
    "anomaly": "the last valid value minus the climatology of its month",
    "trend": (
        "ordinary least squares per decade, of the anomalies when a monthly climatology "
        "exists (else of the values); standard error and "
        f"{100 * CONFIDENCE:g} % interval from Student's t with the sample size reduced by "
        f"the residuals' lag-1 autocorrelation; needs {MIN_TREND_STEPS} valid steps over "
        f"{MIN_TREND_YEARS:g} years"
    ),
}


def parse_place(place: Place) -> tuple[float, float] | BaseGeometry:
    """Return a checked ``(lon, lat)`` or a valid lon/lat (multi)polygon.

    Raises
    ------
    InputError
        When a coordinate is not a finite number in range, or the geometry is not a polygon.
    """
    if isinstance(place, tuple):
        lon, lat = (float(v) for v in place)
        if not np.isfinite(lon) or not -180.0 <= lon <= 180.0:
            raise InputError(f"lon: must be a number in -180..180, not {place[0]!r}")
        if not np.isfinite(lat) or not -90.0 <= lat <= 90.0:
            raise InputError(f"lat: must be a number in -90..90, not {place[1]!r}")
        return lon, lat
    geometry = parse_geometry(place)
    if not geometry.is_valid:
        raise InputError("geometry: not a valid polygon")
    return geometry


def own_variables(cube: xr.Dataset) -> list[str]:
    """Return the cube's gridded float variables that are the collection's own quantities."""
    ancillary: set[str] = set()
    for var in cube.data_vars.values():
        ancillary.update(str(var.attrs.get("ancillary_variables", "")).split())
    try:
        dims = set(spatial_dims(cube))
    except InputError:
        return []
    return [
        str(name)
        for name, var in cube.data_vars.items()
        if var.dtype.kind == "f"
        and dims <= set(var.dims)
        and str(name) not in ancillary
        and not COMPANION.search(str(name))
    ]


def _license(doc: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"id": doc.get("license")}
    for link in doc.get("links", []):
        if link.get("rel") == "license":
            out["href"] = link.get("href")
            if link.get("title"):
                out["title"] = link["title"]
            break
    return out


def _head(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": doc["id"], "title": doc.get("title", doc["id"]), "ecv": doc.get("sco:ecv")}


def _why_not(doc: Mapping[str, Any], cube: xr.Dataset | None, names: list[str]) -> str | None:
    """Return why a collection cannot be in a dossier at all (before reading), else None."""
    if "sco:derived_from" in doc:
        return "a derived product (the result of a process on pooled records), left out"
    if cube is None:
        return "catalog-only: no cube on this hub"
    if grid_kind(cube) == "none":
        return "a series without a spatial grid (a global or regional index, not a map)"
    if not names:
        return "no gridded numeric variable"
    zdim = vertical_dim(cube)
    if zdim is not None:
        return (
            f"a profile product ({cube.sizes[zdim]} levels of {zdim!r}): ask an EDR position "
            "query with z for one level"
        )
    return None


def _outside(doc: Mapping[str, Any], place: tuple[float, float] | BaseGeometry) -> str | None:
    """Return why the place lies outside the collection's spatial extent, else None.

    Reads nothing: the extent is the collection document's bbox (west > east crosses the
    antimeridian). A place inside it may still fall outside the grid (projected grids).
    """
    try:
        west, south, east, north = (float(v) for v in doc["extent"]["spatial"]["bbox"][0])
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    if isinstance(place, tuple):
        lon0 = lon1 = place[0]
        lat0 = lat1 = place[1]
    else:
        lon0, lat0, lon1, lat1 = place.bounds
    if east - west >= 360.0:
        in_lon = True
    elif west <= east:
        in_lon = lon1 >= west and lon0 <= east
    else:
        in_lon = lon1 >= west or lon0 <= east
    if in_lon and lat1 >= south and lat0 <= north:
        return None
    what = "the point lies" if isinstance(place, tuple) else "the area lies"
    return (
        f"{what} outside the collection's extent (lon {west:g}..{east:g}, lat {south:g}..{north:g})"
    )


def _reason(exc: InputError) -> str:
    """The message of a selection error without its parameter prefix."""
    return re.sub(r"^parameter '[^']*': ", "", exc.message)


def _cell(picked: xr.Dataset) -> dict[str, Any]:
    """Describe the cell picked: its centre's lon/lat (and x/y on a projected grid)."""
    cell: dict[str, Any] = {}
    for name in ("lon", "lat", "x", "y"):
        if name in picked.coords and picked[name].ndim == 0:
            cell[name] = float(picked[name].values)
    return cell


def _at_point(
    ctx: HubContext,
    doc: Mapping[str, Any],
    cube: xr.Dataset,
    names: list[str],
    lon: float,
    lat: float,
) -> tuple[dict[str, Any], list[xr.DataArray]]:
    """Read the variables' series at the cell nearest the point (series copy fast path)."""
    picked = nearest_cell(select_variables(cube, names), lon, lat)
    ctx.check_size(estimate_bytes(picked), f"the dossier's read of {doc['id']!r}")
    href = str(doc["assets"]["zarr"]["href"])
    loaded = load_position(cube, ctx.store.path(href), href, picked)
    return {"cell": _cell(picked)}, [loaded[name] for name in names]


def _over_area(
    ctx: HubContext,
    doc: Mapping[str, Any],
    cube: xr.Dataset,
    names: list[str],
    geometry: BaseGeometry,
) -> tuple[dict[str, Any], list[xr.DataArray]]:
    """Read the variables' area-weighted means over the polygon."""
    area = select_polygon(select_variables(cube, names), geometry, name="geometry")
    size = estimate_bytes(area.window, data_only=True)
    ctx.check_size(size, f"the dossier's read of {doc['id']!r} ({human_bytes(size)})")
    window = area.window.load()
    means = [regional_mean(window[name], geometry=geometry) for name in names]
    first = means[0]
    where: dict[str, Any] = {
        "cells_in_area": int(first["cells_in_area"].values),
        "valid_cells": int(first["valid_cells"].values),
    }
    if "region_area_m2" in first.attrs:
        where["area_km2"] = float(first.attrs["region_area_m2"]) / 1e6
    for da, name in zip(means, names, strict=True):
        da.attrs = {**window[name].attrs, **{k: da.attrs[k] for k in ("units",) if k in da.attrs}}
        da.name = name
    return {"area": where}, means


def collection_dossier(
    ctx: HubContext, doc: Mapping[str, Any], place: tuple[float, float] | BaseGeometry
) -> tuple[dict[str, Any] | None, str | None]:
    """Return ``(entry, None)`` for a collection with data at the place, else ``(None, why)``."""
    cube = ctx.cube_at(cube_href(doc)) if has_cube(doc) else None
    names = own_variables(cube) if cube is not None else []
    why = _why_not(doc, cube, names) or _outside(doc, place)
    if why is not None or cube is None:
        return None, why or "no cube"
    try:
        if isinstance(place, tuple):
            where, series = _at_point(ctx, doc, cube, names, *place)
        else:
            where, series = _over_area(ctx, doc, cube, names, place)
    except InputError as exc:
        return None, _reason(exc)
    variables = [s for s in (summarise(da) for da in series) if s is not None]
    if not variables:
        kind = "at the nearest cell" if isinstance(place, tuple) else "in the area"
        return None, f"no valid value {kind} in the record ({', '.join(names)})"
    entry = {
        **_head(doc),
        "kind": doc.get("sco:kind"),
        "agencies": list(doc.get("sco:agencies", [])),
        **where,
        "variables": variables,
        "citation": doc.get("sci:citation"),
        "doi": doc.get("sci:doi"),
        "license": _license(doc),
        "version": doc.get("sco:version"),
    }
    return entry, None


def build_dossier(ctx: HubContext, place: Place) -> dict[str, Any]:
    """Return the dossier of a place: every pooled collection's record there, summarised.

    Parameters
    ----------
    ctx
        The hub (catalog, store, limits).
    place
        A point ``(lon, lat)`` in degrees, or a lon/lat (multi)polygon: a shapely geometry or
        GeoJSON (geometry, Feature or FeatureCollection).

    Returns
    -------
    dict
        ``place`` (GeoJSON), ``considered`` (collections looked at), ``with_data``,
        ``collections`` (one entry each with data: id, title, ECV, the cell or area, its
        ``variables`` summarised as :func:`spaceclimate.compute.dossier.summarise` does,
        citation, DOI, licence), ``no_data`` (``id``, ``title``, ``ecv``, ``reason``) and
        ``method`` (how each figure is made).

    Raises
    ------
    InputError
        When the place is not a valid point or polygon.
    """
    where = parse_place(place)
    docs = ctx.catalog.list_collections()
    found: list[dict[str, Any]] = []
    missing: list[dict[str, Any]] = []
    for doc in docs:
        entry, why = collection_dossier(ctx, doc, where)
        if entry is not None:
            found.append(entry)
        else:
            missing.append({**_head(doc), "reason": why})
    shape = Point(*where) if isinstance(where, tuple) else where
    kind = "point" if isinstance(where, tuple) else "area"
    return {
        "type": "sco:dossier",
        "place": mapping(shape),
        "considered": len(docs),
        "with_data": len(found),
        "collections": found,
        "no_data": missing,
        "method": {
            "place": METHOD[kind],
            **{k: METHOD[k] for k in ("climatology", "anomaly", "trend")},
        },
    }
