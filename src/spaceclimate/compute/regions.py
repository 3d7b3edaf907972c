"""Area-weighted means over a bounding box, a GeoJSON polygon or a named region.

Named regions come from files shipped in this package (no network), see ``data/README.md``:

* the 58 IPCC AR6 WGI reference regions (Iturbide et al. 2020, CC BY 4.0), by abbreviation
  (``NAO``) or name (``N.Atlantic-Ocean``);
* the 177 countries of Natural Earth 1:110m (public domain), by ISO 3166 alpha-3 code (``FRA``)
  or name (``France``).

A few AR6 abbreviations are also country codes (``CAF``, ``MDG``, ``SAU``): write ``ar6:SAU`` or
``country:SAU`` there. A cell belongs to a region when its centre lies inside it (regionmask);
its weight is its true area (:mod:`spaceclimate.compute.areas`), and cells whose value is
missing at a time step drop out of that step's weights.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import regionmask
import shapely
import xarray as xr
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from spaceclimate.compute.areas import AreaMethod, cell_area, coslat_weights, spatial_dims
from spaceclimate.compute.cfmeta import append_cell_method, as_dataarray, stamp
from spaceclimate.errors import InputError, NotFoundError

DATA = Path(__file__).parent / "data"
RegionSet = Literal["ar6", "country"]
#: The file and the regionmask name of each set of named regions.
REGION_SETS: dict[str, tuple[str, str, str]] = {
    "ar6": (
        "ar6_reference_regions.geojson",
        "IPCC AR6 WGI reference regions",
        "Iturbide et al. (2020), ESSD 12, 2959, doi:10.5194/essd-12-2959-2020 (CC BY 4.0)",
    ),
    "country": (
        "countries_ne110m.geojson",
        "Natural Earth 1:110m countries",
        "Natural Earth, naturalearthdata.com (public domain)",
    ),
}
BBox = tuple[float, float, float, float]
#: Time steps read at once by an area mean over data not in memory and not in dask: memory
#: stays bounded by one block of the region's cells whatever the record length.
TIME_BLOCK = 256


@lru_cache(maxsize=4)
def _features(kind: str) -> tuple[dict[str, Any], ...]:
    file, _, _ = REGION_SETS[kind]
    doc = json.loads((DATA / file).read_text(encoding="utf-8"))
    return tuple(doc["features"])


@lru_cache(maxsize=4)
def region_set(kind: RegionSet) -> regionmask.Regions:
    """Return every region of a set (``ar6`` or ``country``) as :class:`regionmask.Regions`."""
    if kind not in REGION_SETS:
        raise InputError(f"region set: must be one of {', '.join(REGION_SETS)}, not {kind!r}")
    feats = _features(kind)
    _, title, source = REGION_SETS[kind]
    return regionmask.Regions(
        [shape(f["geometry"]) for f in feats],
        numbers=[int(f["properties"]["number"]) for f in feats],
        names=[str(f["properties"]["name"]) for f in feats],
        abbrevs=[str(f["properties"]["abbrev"]) for f in feats],
        name=title,
        source=source,
        overlap=False,
    )


def list_regions(kind: RegionSet = "ar6") -> list[dict[str, Any]]:
    """Return ``[{abbrev, name, ...}]`` of every region of a set, for listings and forms."""
    region_set(kind)  # validates kind
    return [dict(f["properties"]) for f in _features(kind)]


def _matches(kind: str, key: str) -> list[dict[str, Any]]:
    wanted = key.casefold()
    return [
        dict(f["properties"])
        for f in _features(kind)
        if wanted
        in (str(f["properties"]["abbrev"]).casefold(), str(f["properties"]["name"]).casefold())
    ]


def lookup_region(region: str) -> tuple[str, regionmask.Regions]:
    """Return ``(label, one-region Regions)`` for a region name, abbreviation or code.

    Raises
    ------
    InputError
        When the name is ambiguous between AR6 regions and countries, or the prefix is unknown.
    NotFoundError
        When no region has that name.
    """
    text = str(region).strip()
    kinds: Sequence[str] = tuple(REGION_SETS)
    if ":" in text:
        prefix, text = (part.strip() for part in text.split(":", 1))
        if prefix.casefold() not in REGION_SETS:
            raise InputError(f"region: unknown prefix {prefix!r}; use ar6: or country:")
        kinds = (prefix.casefold(),)
    hits = [(kind, props) for kind in kinds for props in _matches(kind, text)]
    if not hits:
        raise NotFoundError(
            f"region: no AR6 region or country named {region!r} (try e.g. NAO, France, FRA)"
        )
    if len({kind for kind, _ in hits}) > 1:
        raise InputError(
            f"region: {text!r} is both an AR6 region and a country; "
            f"write ar6:{text} or country:{text}"
        )
    kind, props = hits[0]
    regions = region_set(kind)  # type: ignore[arg-type]
    label = f"{kind}:{props['abbrev']} ({props['name']})"
    return label, regions[[int(props["number"])]]


def parse_geometry(geometry: Mapping[str, Any] | str | BaseGeometry) -> BaseGeometry:
    """Return a valid lon/lat (multi)polygon from GeoJSON (geometry, Feature or collection)."""
    if isinstance(geometry, BaseGeometry):
        geom = geometry
    else:
        try:
            doc = json.loads(geometry) if isinstance(geometry, str) else dict(geometry)
            if doc.get("type") == "FeatureCollection":
                parts = [shape(f["geometry"]) for f in doc.get("features", [])]
                geom = shapely.union_all(parts) if parts else shapely.Polygon()
            elif doc.get("type") == "Feature":
                geom = shape(doc["geometry"])
            else:
                geom = shape(doc)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise InputError(f"geometry: not a GeoJSON polygon ({exc})") from exc
    if geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise InputError(f"geometry: a Polygon or MultiPolygon is needed, not {geom.geom_type}")
    west, south, east, north = geom.bounds
    if south < -90 or north > 90 or west < -180 or east > 360:
        raise InputError("geometry: coordinates must be longitude/latitude in degrees")
    return shapely.make_valid(geom) if not geom.is_valid else geom


def _check_bbox(bbox: Sequence[float]) -> BBox:
    try:
        west, south, east, north = (float(v) for v in bbox)
    except (TypeError, ValueError) as exc:
        raise InputError("bbox: expected four numbers west,south,east,north") from exc
    if not (-90 <= south < north <= 90):
        raise InputError(f"bbox: need -90 <= south < north <= 90, got {south}, {north}")
    if not (-180 <= west <= 360 and -180 <= east <= 360) or west == east:
        raise InputError(f"bbox: longitudes {west}, {east} are out of range or equal")
    return west, south, east, north


def _centres(da: xr.DataArray) -> tuple[xr.DataArray, xr.DataArray]:
    if "lon" not in da.coords or "lat" not in da.coords:
        raise InputError("data: the grid has no lon/lat coordinates")
    return da["lon"], da["lat"]


def _bbox_mask(da: xr.DataArray, bbox: BBox) -> xr.DataArray:
    west, south, east, north = bbox
    lon, lat = _centres(da)
    lon = ((lon + 180.0) % 360.0) - 180.0
    west, east = ((west + 180.0) % 360.0) - 180.0, ((east + 180.0) % 360.0) - 180.0
    in_lon = (lon >= west) & (lon <= east) if west < east else (lon >= west) | (lon <= east)
    if bbox[2] - bbox[0] >= 360:
        in_lon = xr.ones_like(lon, dtype=bool)
    return (in_lon & (lat >= south) & (lat <= north)).fillna(False).astype(bool)


def _regions_mask(da: xr.DataArray, regions: regionmask.Regions) -> xr.DataArray:
    lon, lat = _centres(da)
    with warnings.catch_warnings():  # regionmask's use of an affine operator pending removal
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        mask = regions.mask(lon, lat)
    return mask.notnull()


def region_mask(
    data: xr.Dataset | xr.DataArray,
    region: str | None = None,
    *,
    bbox: Sequence[float] | None = None,
    geometry: Mapping[str, Any] | str | BaseGeometry | None = None,
) -> tuple[str, xr.DataArray]:
    """Return ``(label, mask)``: True for the cells whose centre lies in the area.

    Exactly one of *region* (a name, see the module docstring), *bbox* (west, south, east,
    north in degrees; west > east crosses the antimeridian) or *geometry* (GeoJSON) is given.
    """
    given = [v is not None for v in (region, bbox, geometry)]
    if sum(given) != 1:
        raise InputError("region: give exactly one of region, bbox or geometry")
    da = data if isinstance(data, xr.DataArray) else next(iter(data.data_vars.values()))
    spatial_dims(da)
    if region is not None:
        label, regions = lookup_region(region)
        mask = _regions_mask(da, regions)
    elif bbox is not None:
        box = _check_bbox(bbox)
        label = "bbox " + ",".join(f"{v:g}" for v in box)
        mask = _bbox_mask(da, box)
    else:
        assert geometry is not None
        geom = parse_geometry(geometry)
        label = "polygon"
        mask = _regions_mask(da, regionmask.Regions([geom], names=["polygon"], abbrevs=["poly"]))
    return label, mask.rename("region_mask")


def _window(inside: Any, dims: tuple[str, str]) -> dict[str, slice]:
    """Return the smallest row/column slices holding every True cell of a 2-D mask."""
    rows = np.flatnonzero(inside.any(axis=1))
    cols = np.flatnonzero(inside.any(axis=0))
    return {
        dims[0]: slice(int(rows[0]), int(rows[-1]) + 1),
        dims[1]: slice(int(cols[0]), int(cols[-1]) + 1),
    }


def _blocked_mean(da: xr.DataArray, weights: Any) -> tuple[xr.DataArray, xr.DataArray, np.ndarray]:
    """Weighted mean, valid weight and the cells ever valid, over a (time, row, column) array.

    Reads :data:`TIME_BLOCK` steps at a time (memory bounded by one block of the window),
    with one pass of numpy per block: ``sum(w x) / sum(w)`` over the valid cells.
    """
    total = da.sizes["time"]
    numerator = np.empty(total, dtype="float64")
    denominator = np.empty(total, dtype="float64")
    ever_valid = np.zeros(weights.shape, dtype=bool)
    for start in range(0, total, TIME_BLOCK):
        values = np.asarray(da.isel(time=slice(start, start + TIME_BLOCK)).values)
        valid = ~np.isnan(values)
        stop = start + values.shape[0]
        numerator[start:stop] = np.einsum("trc,rc->t", np.where(valid, values, 0.0), weights)
        denominator[start:stop] = np.einsum("trc,rc->t", valid, weights)
        np.logical_or(ever_valid, valid.any(axis=0), out=ever_valid)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = numerator / denominator
    coords = {"time": da["time"]}
    out = xr.DataArray(mean, dims=("time",), coords=coords, name=da.name)
    return out, xr.DataArray(denominator, dims=("time",), coords=coords), ever_valid


def regional_mean(
    data: xr.Dataset | xr.DataArray,
    region: str | None = None,
    *,
    bbox: Sequence[float] | None = None,
    geometry: Mapping[str, Any] | str | BaseGeometry | None = None,
    variable: str | None = None,
    weighting: Literal["area", "coslat"] = "area",
    area_method: AreaMethod = "scale_factor",
) -> xr.DataArray:
    """Return the area-weighted mean of a gridded variable over a region, for every time step.

    Parameters
    ----------
    data
        A harmonised gridded variable (or dataset plus *variable*), regular or projected.
    region, bbox, geometry
        The area: exactly one of a region name, a lon/lat bbox or a GeoJSON polygon.
    weighting
        ``area`` (true cell areas, the default) or ``coslat`` (cos-latitude of the centres,
        regular grids only; for comparison with tools that use it).
    area_method
        Cell-area method on projected grids (see :mod:`spaceclimate.compute.areas`).

    Returns
    -------
    xarray.DataArray
        The mean in the variable's units, over the non-spatial dims, with coordinates
        ``region`` (label) and ``valid_area_fraction`` (share of the region's area with data).
    """
    da = as_dataarray(data, variable)
    dims = spatial_dims(da)
    label, mask = region_mask(da, region, bbox=bbox, geometry=geometry)
    if weighting == "area":
        weights = cell_area(da, area_method)
    elif weighting == "coslat":
        if dims != ("lat", "lon"):
            raise InputError("weighting: coslat works on regular lat/lon grids only")
        weights = coslat_weights(da) * xr.ones_like(da["lon"], dtype="float64")
    else:
        raise InputError(f"weighting: must be 'area' or 'coslat', not {weighting!r}")
    weights = weights.where(mask & weights.notnull(), 0.0)
    total = float(weights.sum())
    if total <= 0:
        raise InputError(f"region: no cell of the grid lies inside {label}")
    # only the rows and columns holding the region are read (cells outside weigh nothing)
    window = _window(weights.values > 0, dims)
    da, weights = da.isel(window), weights.isel(window)
    inside = weights.transpose(*dims).values > 0
    if da.chunks is None and da.dims == ("time", *dims):  # not dask: read in time blocks
        out, covered, ever_valid = _blocked_mean(da, weights.transpose(*dims).values)
        covered = covered / total
        valid_cells: Any = int(np.count_nonzero(ever_valid & inside))
    else:
        out = da.weighted(weights).mean(dim=list(dims), skipna=True)
        covered = (weights * da.notnull()).sum(dim=list(dims)) / total
        others = [d for d in da.dims if d not in dims]
        ever = da.notnull().any(dim=others) if others else da.notnull()
        valid_cells = (ever.transpose(*dims) & (weights.transpose(*dims) > 0)).sum()
    name = da.attrs.get("long_name", da.name or "value")
    out.attrs = {
        key: da.attrs[key] for key in ("standard_name", "units", "cell_methods") if key in da.attrs
    }
    out.attrs["long_name"] = f"{name}, area-weighted mean over {label}"
    out.attrs["cell_methods"] = append_cell_method(
        out.attrs, f"area: mean (cell centres inside {label}; weights: {weighting})"
    )
    if weighting == "area":
        out.attrs["region_area_m2"] = total
    out = out.assign_coords(
        region=((), label, {"long_name": "area of the mean"}),
        valid_area_fraction=(
            covered.dims,
            covered.data,
            {"long_name": "fraction of the region's area with valid data", "units": "1"},
        ),
        cells_in_area=((), int(np.count_nonzero(inside)), {"long_name": "cells of the area"}),
        valid_cells=(
            (),
            valid_cells.data if isinstance(valid_cells, xr.DataArray) else valid_cells,
            {"long_name": "cells of the area holding data at any step"},
        ),
    )
    out.name = da.name
    params = {"region": region, "bbox": bbox, "geometry": "GeoJSON" if geometry else None}
    return stamp(out, "regional_mean", {**params, "weighting": weighting}, da)


def mean_or_centre(
    da: xr.DataArray, geometry: BaseGeometry, what: str = "area"
) -> tuple[xr.DataArray, str | None]:
    """The area-weighted mean of *da* over *geometry*, or its cell at the area's centre.

    An area smaller than the grid's cells may hold no cell centre: its series is then the
    cell nearest its centre, and the note (else None) says so. InputError when that point
    lies outside the grid too.
    """
    from spaceclimate.compute.subset import nearest_cell

    try:
        return regional_mean(da, geometry=geometry), None
    except InputError:
        centre = geometry.representative_point()
        x, y = float(centre.x), float(centre.y)
        try:
            cell = nearest_cell(da.to_dataset(), x, y, what)
        except InputError as exc:
            raise InputError(f"the {what} lies outside the grid ({exc})") from None
        note = (
            f"no grid cell centre lies inside the {what}: the cell at its centre "
            f"({x:.3f}, {y:.3f}) was used"
        )
        return cell[da.name], note
