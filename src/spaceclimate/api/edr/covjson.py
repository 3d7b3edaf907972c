"""CoverageJSON encoding of EDR answers: PointSeries (or Point) for positions, Grid for areas.

Values are NdArrays in row-major order over the ``axisNames``; missing values are ``null``.
Regular grids are referenced in CRS84 (x = longitude, y = latitude); projected grids in their
own CRS (x/y in metres), with the EPSG URI when the CRS has one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import xarray as xr

from spaceclimate.api.edr.documents import CRS84, observed_property
from spaceclimate.compute.subset import grid_crs, grid_kind, vertical_dim

TEMPORAL_RS = {"type": "TemporalRS", "calendar": "Gregorian"}
#: Values encoded per chunk when streaming a range.
JSON_CHUNK = 500_000
#: Time axes whose ISO strings are kept (by content: the same axis, the same strings).
ISO_CACHE_SIZE = 64
_ISO_CACHE: dict[str, list[str]] = {}


def _iso_times(values: np.ndarray) -> list[str]:
    stamps = np.ascontiguousarray(np.asarray(values).astype("datetime64[s]"))
    key = hashlib.sha1(stamps.tobytes(), usedforsecurity=False).hexdigest()
    found = _ISO_CACHE.get(key)
    if found is None:  # a cube's time axis is formatted once, then reused by every answer
        found = [f"{t}Z" for t in np.datetime_as_string(stamps, unit="s")]
        if len(_ISO_CACHE) >= ISO_CACHE_SIZE:
            _ISO_CACHE.clear()
        _ISO_CACHE[key] = found
    return list(found)


def _json_chunks(values: np.ndarray) -> Iterator[str]:
    """Yield the JSON text of a flat array's items (no brackets), NaN as null, in chunks."""
    flat = np.asarray(values).ravel()
    first = True
    for start in range(0, flat.size, JSON_CHUNK):
        chunk = flat[start : start + JSON_CHUNK]
        if chunk.dtype.kind == "f":
            items = chunk.astype("float64").astype(object)
            items[np.isnan(chunk)] = None
        else:
            items = chunk.astype(object)
        text = json.dumps(items.tolist(), separators=(",", ":"))[1:-1]
        yield text if first else "," + text
        first = False


def iter_json(coverage: dict[str, Any]) -> Iterator[str]:
    """Yield a coverage as JSON text; range values stream in chunks (bounded extra memory).

    The ranges' ``values`` may hold numpy arrays; they are written item by item, missing
    values as ``null``.
    """
    arrays: dict[str, np.ndarray] = {}
    ranges = {}
    for name, rng in coverage.get("ranges", {}).items():
        marker = f"@@values:{len(arrays)}@@"
        arrays[marker] = np.asarray(rng["values"])
        ranges[name] = {**rng, "values": marker}
    text = json.dumps({**coverage, "ranges": ranges}, separators=(",", ":"), allow_nan=False)
    for marker, array in arrays.items():
        head, text = text.split(json.dumps(marker), 1)
        yield head + "["
        yield from _json_chunks(array)
        yield "]"
    yield text


def _data_type(dtype: np.dtype) -> str:
    return "integer" if dtype.kind in ("i", "u") else "float"


def parameters(ds: xr.Dataset, collection: dict[str, Any]) -> dict[str, Any]:
    """Return the CoverageJSON ``parameters`` of the data variables (units, observed property)."""
    cube_vars = collection.get("cube:variables") or {}
    out: dict[str, Any] = {}
    for name, var in ds.data_vars.items():
        meta = dict(cube_vars.get(str(name)) or {})
        meta.setdefault("description", var.attrs.get("long_name", str(name)))
        if var.attrs.get("standard_name"):
            meta.setdefault("sco:standard_name", var.attrs["standard_name"])
        prop = observed_property(str(name), meta, collection.get("sco:ecv"))
        units = str(var.attrs.get("units", meta.get("unit", "")))
        observed: dict[str, Any] = {"label": {"en": prop["label"]}}
        if "id" in prop:
            observed["id"] = prop["id"]
        if "description" in prop:
            observed["description"] = {"en": prop["description"]}
        out[str(name)] = {
            "type": "Parameter",
            "description": {"en": str(var.attrs.get("long_name", name))},
            "unit": {"label": {"en": units}, "symbol": units},
            "observedProperty": observed,
        }
    return out


def _horizontal_referencing(ds: xr.Dataset, projected: bool) -> dict[str, Any]:
    if not projected:
        return {"coordinates": ["x", "y"], "system": {"type": "GeographicCRS", "id": CRS84}}
    crs = grid_crs(ds)
    system: dict[str, Any] = {"type": "ProjectedCRS"}
    epsg = crs.to_epsg()
    if epsg:
        system["id"] = f"http://www.opengis.net/def/crs/EPSG/0/{epsg}"
    else:
        system["wkt"] = crs.to_wkt()
    system["description"] = {"en": crs.name}
    return {"coordinates": ["x", "y"], "system": system}


def _vertical_referencing(ds: xr.Dataset, zdim: str) -> dict[str, Any]:
    attrs = ds[zdim].attrs
    axis = {
        "name": {"en": str(attrs.get("long_name", zdim))},
        "direction": str(attrs.get("positive", "up")),
        "unit": {"symbol": str(attrs.get("units", ""))},
    }
    return {"coordinates": ["z"], "system": {"type": "VerticalCRS", "cs": {"csAxes": [axis]}}}


def _coverage(
    domain_type: str,
    axes: dict[str, Any],
    referencing: list[dict[str, Any]],
    ds: xr.Dataset,
    axis_dims: list[tuple[str, str]],
    collection: dict[str, Any],
) -> dict[str, Any]:
    """Assemble a Coverage; *axis_dims* pairs each CoverageJSON axis with its dataset dim."""
    ranges: dict[str, Any] = {}
    for name, var in ds.data_vars.items():
        pairs = [(a, d) for a, d in axis_dims if d in var.dims]
        dims = [d for _, d in pairs]
        values = var.transpose(*dims).values if dims else var.values
        ranges[str(name)] = {
            "type": "NdArray",
            "dataType": _data_type(var.dtype),
            "axisNames": [a for a, _ in pairs],
            "shape": [int(var.sizes[d]) for d in dims],
            "values": np.asarray(values).ravel(),
        }
    return {
        "type": "Coverage",
        "domain": {
            "type": "Domain",
            "domainType": domain_type,
            "axes": axes,
            "referencing": referencing,
        },
        "parameters": parameters(ds, collection),
        "ranges": ranges,
    }


def _time_and_z(
    ds: xr.Dataset, axes: dict[str, Any], referencing: list[dict[str, Any]]
) -> list[tuple[str, str]]:
    axis_dims: list[tuple[str, str]] = []
    if "time" in ds.dims:
        axes["t"] = {"values": _iso_times(ds["time"].values)}
        referencing.append({"coordinates": ["t"], "system": TEMPORAL_RS})
        axis_dims.append(("t", "time"))
    zdim = vertical_dim(ds)
    if zdim is not None:
        axes["z"] = {"values": [float(v) for v in ds[zdim].values]}
        referencing.append(_vertical_referencing(ds, zdim))
        axis_dims.append(("z", zdim))
    return axis_dims


def point_series(ds: xr.Dataset, collection: dict[str, Any]) -> dict[str, Any]:
    """Encode a position answer (spatial dims dropped) as a PointSeries, or a Point if static.

    The point's x/y are the chosen cell's longitude and latitude (also on projected grids).
    """
    axes: dict[str, Any] = {
        "x": {"values": [float(ds["lon"].values)]},
        "y": {"values": [float(ds["lat"].values)]},
    }
    referencing = [_horizontal_referencing(ds, projected=False)]
    axis_dims = _time_and_z(ds, axes, referencing)
    domain_type = "PointSeries" if "time" in ds.dims else "Point"
    return _coverage(domain_type, axes, referencing, ds, axis_dims, collection)


def grid(ds: xr.Dataset, collection: dict[str, Any]) -> dict[str, Any]:
    """Encode an area or cube answer as a Grid coverage (masked cells are null)."""
    projected = grid_kind(ds) == "projected"
    xdim, ydim = ("x", "y") if projected else ("lon", "lat")
    axes: dict[str, Any] = {
        "x": {"values": [float(v) for v in ds[xdim].values]},
        "y": {"values": [float(v) for v in ds[ydim].values]},
    }
    referencing = [_horizontal_referencing(ds, projected)]
    axis_dims = _time_and_z(ds, axes, referencing)
    axis_dims += [("y", ydim), ("x", xdim)]
    return _coverage("Grid", axes, referencing, ds, axis_dims, collection)
