"""STAC Collections of derived products: results of processes published in the catalog.

A derived collection records how it was made (``sco:derived_from``: the process, its
parameters, the input collections with their versions, and the software version), so that a
result can be found, opened like any other cube (Zarr, tiles, EDR) and re-run.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr
from pyproj import CRS

from spaceclimate import __version__
from spaceclimate.catalog.stac import (
    DATACUBE,
    SCIENTIFIC,
    STAC_VERSION,
    VERSION,
    ZARR_MEDIA_TYPE,
    cube_dimensions,
    cube_variables,
    ecv_names,
)
from spaceclimate.ecv.models import GridSpec
from spaceclimate.harmonise.grid import cell_bounds, lonlat_bbox
from spaceclimate.harmonise.metadata import time_range

#: Colour maps of derived variables: diverging ones for signed quantities.
DIVERGING = ("anomaly", "trend", "slope", "bias", "difference")


def grid_spec_of(ds: xr.Dataset, fallback_bbox: list[float] | None = None) -> GridSpec:
    """Infer the grid of a harmonised (or derived) dataset."""
    if "lat" in ds.dims and "lon" in ds.dims:
        return GridSpec(type="latlon", lat="lat", lon="lon")
    if "x" in ds.dims and "y" in ds.dims and "crs" in ds.variables:
        return GridSpec(type="projected", x="x", y="y", crs=ds["crs"].attrs["crs_wkt"])
    bbox = fallback_bbox or [-180.0, -90.0, 180.0, 90.0]
    return GridSpec(type="none", bbox=(bbox[0], bbox[1], bbox[2], bbox[3]))


def ensure_bounds(ds: xr.Dataset) -> xr.Dataset:
    """Add cell bounds to 1-D spatial coordinates that lack them."""
    for dim in ("lat", "lon", "x", "y"):
        if dim in ds.dims and dim in ds.coords and f"{dim}_bnds" not in ds.variables:
            bounds = cell_bounds(np.asarray(ds[dim].values))
            if dim == "lat":
                bounds = np.clip(bounds, -90.0, 90.0)
            ds = ds.assign_coords({f"{dim}_bnds": ((dim, "bnds"), bounds)})
            ds[dim].attrs["bounds"] = f"{dim}_bnds"
    return ds


def display_of(da: xr.DataArray) -> dict[str, Any]:
    """Choose a colour map and display range for a derived variable from its values."""
    values = np.asarray(da.values, dtype="float64")
    finite = values[np.isfinite(values)]
    name = str(da.name or "").lower()
    if finite.size == 0:
        return {"colormap": "viridis", "range": [0.0, 1.0]}
    lo, hi = (float(v) for v in np.percentile(finite, [2, 98]))
    if any(word in name for word in DIVERGING) or (lo < 0 < hi):
        edge = max(abs(lo), abs(hi)) or 1.0
        return {"colormap": "RdBu_r", "range": [-edge, edge]}
    if hi <= lo:
        hi = lo + 1.0
    return {"colormap": "viridis", "range": [lo, hi]}


def build_derived_collection(
    ds: xr.Dataset,
    *,
    collection_id: str,
    title: str,
    description: str,
    version: int,
    cube_href: str,
    inputs: list[dict[str, Any]],
    derived_from: dict[str, Any],
    ecv: str,
    owner: str | None = None,
) -> dict[str, Any]:
    """Return the STAC Collection of a derived cube.

    A derived collection is labelled as such (``sco:kind: derived``, ``sco:derived``), says
    who made it (``sco:made_by``) and from what (``sco:derived_from``, ``derived_from`` links),
    and is never listed as an agency's data: the input collections' agencies are named in its
    provenance, not as its own (``sco:agencies`` is empty; the hub is its processor). Made with
    an API key, it belongs to that key (``sco:owner``) until published.
    """
    first = inputs[0] if inputs else {}
    fallback = first.get("extent", {}).get("spatial", {}).get("bbox", [None])[0]
    grid = grid_spec_of(ds, fallback)
    bbox = list(lonlat_bbox(ds, grid))
    span = time_range(ds) if "time" in ds.dims else None
    agencies = sorted({a for doc in inputs for a in doc.get("sco:agencies", [])})
    keywords = ["derived", derived_from.get("process", ""), ecv]
    links = [
        {
            "rel": "derived_from",
            "href": f"/stac/collections/{doc['id']}",  # made absolute when served
            "title": f"{doc.get('title') or doc['id']} (v{doc.get('sco:version', '?')})",
        }
        for doc in inputs
    ]
    collection: dict[str, Any] = {
        "type": "Collection",
        "stac_version": STAC_VERSION,
        "stac_extensions": [DATACUBE, SCIENTIFIC, VERSION],
        "id": collection_id,
        "title": title,
        "description": description,
        "license": "other" if len(inputs) != 1 else first.get("license", "other"),
        "keywords": [k for k in dict.fromkeys(keywords) if k],
        "providers": [
            {"name": "Space Climate Observatory data hub", "roles": ["processor", "host"]},
        ],
        "extent": {
            "spatial": {"bbox": [bbox]},
            "temporal": {"interval": [list(span) if span else [None, None]]},
        },
        "cube:dimensions": cube_dimensions(ds, grid.type),
        "cube:variables": cube_variables(ds),
        "sci:citation": "; ".join(str(d["sci:citation"]) for d in inputs if d.get("sci:citation")),
        "version": __version__,
        "sco:ecv": ecv,
        "sco:ecv_names": ecv_names(ecv),
        "sco:agencies": [],
        "sco:kind": "derived",
        "sco:version": version,
        "sco:derived": True,
        "sco:made_by": derived_from.get("made_by", "hub"),
        "sco:derived_from": {**derived_from, "input_agencies": agencies},
        "sco:colormaps": {str(n): display_of(ds[n]) for n in ds.data_vars},
        "assets": {
            "zarr": {
                "href": cube_href,
                "type": ZARR_MEDIA_TYPE,
                "title": "Derived Zarr v3 cube",
                "roles": ["data"],
                "sco:zarr_format": 3,
            }
        },
        "links": links,
    }
    if owner is not None:
        collection["sco:owner"] = owner
    if grid.type == "projected":
        collection["sco:crs_wkt"] = CRS.from_user_input(grid.crs).to_wkt() if grid.crs else None
    return collection
