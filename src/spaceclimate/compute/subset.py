"""Subsetting a harmonised cube: variables, time, vertical levels, bbox, polygon and point.

Every function takes a harmonised :class:`xarray.Dataset` and returns a lazy selection of it;
only 1-D index coordinates (and, on projected grids, the 2-D ``lat``/``lon`` coordinates) are
read, never the data variables. Callers size a selection with :func:`estimate_bytes` before
they load it.

Grids (see :mod:`spaceclimate.harmonise.grid`):

* ``latlon``: dims ``lat`` (ascending) and ``lon`` (ascending, in [-180, 180)) with
  ``lat_bnds``/``lon_bnds``;
* ``projected``: dims ``y``/``x`` in metres (ascending), a ``crs`` variable holding
  ``crs_wkt`` and 2-D ``lat``/``lon`` coordinates of the cell centres (the NSIDC polar
  stereographic sea-ice grids, the MODIS sinusoidal tiles);
* ``none``: gridless series (time and perhaps a region dimension).

Spatial selections answer an :class:`Area`: the rectangular window of the grid and, where the
window holds cells outside the area, a boolean mask of the cells inside. A bbox on a regular
grid keeps every cell whose bounds overlap it (no mask); a bbox on a projected grid and every
polygon keep the cells whose centres lie inside.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

import numpy as np
import shapely
import xarray as xr
from pyproj import CRS, Transformer
from shapely.geometry.base import BaseGeometry

from spaceclimate.compute.grids import GridKind, crs_from_wkt, grid_crs, grid_kind, spatial_dims
from spaceclimate.errors import InputError, NotFoundError

__all__ = ["Area", "GridKind", "grid_crs", "grid_kind", "spatial_dims"]

BBox = tuple[float, float, float, float]

#: Names a vertical dimension may carry when its coordinate has no ``axis: Z`` attribute.
VERTICAL_NAMES = ("z", "depth", "height", "altitude", "level", "lev", "plev", "pressure")
#: Points per side of the lattice a bbox is sampled with before projecting it.
BBOX_SAMPLES = 65
#: Bytes counted for each element of a variable-length (object or string) array.
OBJECT_ITEMSIZE = 64


@dataclass(frozen=True)
class Area:
    """A spatial selection: a rectangular window of the grid and the cells inside the area.

    Parameters
    ----------
    window
        The cube cut to the rows and columns that hold the area (lazy).
    mask
        Boolean array over the window's spatial dims, True for cells inside the area; None
        when every cell of the window is inside.
    """

    window: xr.Dataset
    mask: xr.DataArray | None = None

    def masked(self) -> xr.Dataset:
        """Return the window with the spatial variables set missing outside the area."""
        return apply_mask(self.window, self.mask)


# -- grids --------------------------------------------------------------------------------------
@lru_cache(maxsize=32)
def _to_grid(wkt: str) -> Transformer:
    """Return a lon/lat (EPSG:4326) to grid-CRS transformer, cached by WKT."""
    return Transformer.from_crs(CRS.from_epsg(4326), crs_from_wkt(wkt), always_xy=True)


def _project(ds: xr.Dataset, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Transform lon/lat to the projected CRS of *ds* (non-finite where undefined)."""
    with np.errstate(all="ignore"):
        x, y = _to_grid(str(ds["crs"].attrs.get("crs_wkt", ""))).transform(lon, lat)
    return np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64")


def _bounds(ds: xr.Dataset, dim: str) -> np.ndarray:
    """Return ``(n, 2)`` cell bounds of a 1-D coordinate (from ``<dim>_bnds`` or the centres)."""
    name = f"{dim}_bnds"
    if name in ds.variables:
        b = np.asarray(ds[name].values, dtype="float64")
        return np.sort(b, axis=1)
    c = np.asarray(ds[dim].values, dtype="float64")
    if c.size == 1:
        return np.array([[c[0] - 0.5, c[0] + 0.5]])
    mid = (c[:-1] + c[1:]) / 2
    edges = np.concatenate([[c[0] - (mid[0] - c[0])], mid, [c[-1] + (c[-1] - mid[-1])]])
    return np.stack([np.minimum(edges[:-1], edges[1:]), np.maximum(edges[:-1], edges[1:])], 1)


def _extent_text(ds: xr.Dataset) -> str:
    kind = grid_kind(ds)
    if kind == "latlon":
        lon_b, lat_b = _bounds(ds, "lon"), _bounds(ds, "lat")
        return f"lon {lon_b.min():g}..{lon_b.max():g}, lat {lat_b.min():g}..{lat_b.max():g}"
    if kind == "projected":
        lon, lat = ds["lon"].values, ds["lat"].values
        return (
            f"lon {np.nanmin(lon):.4g}..{np.nanmax(lon):.4g}, "
            f"lat {np.nanmin(lat):.4g}..{np.nanmax(lat):.4g}"
        )
    return "no spatial grid"


# -- variables, time, vertical ------------------------------------------------------------------
def select_variables(ds: xr.Dataset, names: list[str] | None) -> xr.Dataset:
    """Keep the data variables *names* (all when None or empty) with their coordinates.

    Raises
    ------
    NotFoundError
        When a name is not a data variable of the cube (the message lists the known ones).
    """
    if not names:
        return ds
    known = [str(v) for v in ds.data_vars]
    for name in names:
        if name not in known:
            raise NotFoundError(f"no variable {name!r}; known: {', '.join(known)}", known=known)
    # drop the others rather than index the wanted ones, which would lose the bounds
    return ds.drop_vars([v for v in known if v not in names])


def _utc64(stamp: datetime) -> np.datetime64:
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(UTC).replace(tzinfo=None)
    return np.datetime64(stamp, "us")  # microseconds: years 1..9999 without overflow


def select_time(
    ds: xr.Dataset, start: datetime | None, end: datetime | None, name: str = "datetime"
) -> xr.Dataset:
    """Keep the time steps whose period meets the closed interval [*start*, *end*].

    A step's period is its ``time_bnds`` interval ``[lower, upper)`` when present, else its
    time stamp. Either end may be None (open). Cubes without a time dimension (static
    products) are returned unchanged: they hold at every time.

    Raises
    ------
    InputError
        When no time step meets the interval (naming *name* and the cube's time range).
    """
    if "time" not in ds.dims or (start is None and end is None):
        return ds
    lo = _utc64(start) if start is not None else None
    hi = _utc64(end) if end is not None else None
    times = ds["time"].values.astype("datetime64[us]")
    if "time_bnds" in ds.variables:
        bnds = ds["time_bnds"].values.astype("datetime64[us]")
        lower, upper = bnds.min(axis=1), bnds.max(axis=1)
        keep = np.ones(times.shape, dtype=bool)
        if hi is not None:
            keep &= lower <= hi
        if lo is not None:
            keep &= (upper > lo) | ((upper == lower) & (lower >= lo))
    else:
        keep = np.ones(times.shape, dtype=bool)
        if hi is not None:
            keep &= times <= hi
        if lo is not None:
            keep &= times >= lo
    index = np.flatnonzero(keep)
    if index.size == 0:
        first, last = np.datetime_as_string(times[[0, -1]], unit="s")
        raise InputError(
            f"parameter {name!r}: no time step in the interval; the data cover {first}Z..{last}Z"
        )
    if index.size == index[-1] - index[0] + 1:
        return ds.isel(time=slice(int(index[0]), int(index[-1]) + 1))
    return ds.isel(time=index)


def vertical_dim(ds: xr.Dataset) -> str | None:
    """Return the name of the cube's vertical dimension, or None when it has none."""
    for dim in ds.dims:
        if dim in ds.coords and (ds[dim].attrs.get("axis") == "Z" or "positive" in ds[dim].attrs):
            return str(dim)
    for dim in ds.dims:
        if str(dim).lower() in VERTICAL_NAMES:
            return str(dim)
    return None


def select_z(
    ds: xr.Dataset,
    levels: list[float] | None = None,
    between: tuple[float, float] | None = None,
    name: str = "z",
) -> xr.Dataset:
    """Select vertical levels: the nearest level to each of *levels*, or those *between*.

    Raises
    ------
    InputError
        When the cube has no vertical dimension, or no level lies in *between*.
    """
    if levels is None and between is None:
        return ds
    dim = vertical_dim(ds)
    if dim is None:
        raise InputError(
            f"parameter {name!r}: collection {ds.attrs.get('id', '')!r} has no vertical "
            "dimension; leave out z"
        )
    values = np.asarray(ds[dim].values, dtype="float64")
    if between is not None:
        lo, hi = sorted(between)
        index = np.flatnonzero((values >= lo) & (values <= hi))
        if index.size == 0:
            raise InputError(
                f"parameter {name!r}: no level within {lo:g}..{hi:g}; levels: "
                f"{', '.join(f'{v:g}' for v in values)}"
            )
        return ds.isel({dim: index})
    assert levels is not None
    index = np.array([int(np.argmin(np.abs(values - level))) for level in levels])
    return ds.isel({dim: np.unique(index)})


# -- spatial windows ----------------------------------------------------------------------------
def _overlap_index(bounds: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Indices of cells ``[b0, b1]`` overlapping ``[lo, hi]`` (a point needs its own cell)."""
    b0, b1 = bounds[:, 0], bounds[:, 1]
    return np.flatnonzero((b1 > lo) & ((b0 < hi) | (b0 <= lo)))


def _span(index: np.ndarray) -> slice:
    return slice(int(index.min()), int(index.max()) + 1)


def _check_lonlat_bbox(bbox: BBox, name: str) -> BBox:
    minx, miny, maxx, maxy = (float(v) for v in bbox)
    if not all(np.isfinite([minx, miny, maxx, maxy])):
        raise InputError(f"parameter {name!r}: numbers must be finite")
    if not (-90 <= miny <= maxy <= 90) or not (-180 <= minx <= maxx <= 180):
        raise InputError(
            f"parameter {name!r}: expected minlon,minlat,maxlon,maxlat within -180..180, "
            "-90..90 with min <= max"
        )
    return (minx, miny, maxx, maxy)


def _projected_window(ds: xr.Dataset, bbox: BBox) -> xr.Dataset:
    """Cut a projected cube to the x/y window covering the lon/lat *bbox* (a superset)."""
    minx, miny, maxx, maxy = bbox
    lon, lat = np.meshgrid(
        np.linspace(minx, maxx, BBOX_SAMPLES), np.linspace(miny, maxy, BBOX_SAMPLES)
    )
    px, py = _project(ds, lon.ravel(), lat.ravel())
    if not (np.all(np.isfinite(px)) and np.all(np.isfinite(py))):
        return ds  # the box reaches the projection's singular point: its image is unbounded
    window = ds
    for dim, values in (("x", px), ("y", py)):
        bounds = _bounds(ds, dim)
        step = float(np.max(bounds[:, 1] - bounds[:, 0]))
        index = _overlap_index(bounds, float(values.min()) - step, float(values.max()) + step)
        if index.size == 0:
            return ds.isel(x=slice(0, 0), y=slice(0, 0))
        window = window.isel({dim: _span(index)})
    return window


def _trim(window: xr.Dataset, mask: np.ndarray, name: str, what: str, cube: xr.Dataset) -> Area:
    """Cut *window* to the rows/columns where *mask* holds; InputError when it never does."""
    rows, cols = spatial_dims(window)
    if mask.size == 0 or not mask.any():
        raise InputError(
            f"parameter {name!r}: no grid cell centre lies within the {what}; "
            f"the grid covers {_extent_text(cube)}"
        )
    r = np.flatnonzero(mask.any(axis=1))
    c = np.flatnonzero(mask.any(axis=0))
    window = window.isel({rows: _span(r), cols: _span(c)})
    sub = mask[_span(r), _span(c)]
    da = xr.DataArray(sub, dims=(rows, cols), coords={rows: window[rows], cols: window[cols]})
    return Area(window, None if sub.all() else da)


def _centres(window: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Return 2-D lon/lat arrays of the window's cell centres (row, column order)."""
    if grid_kind(window) == "latlon":
        lon, lat = np.meshgrid(window["lon"].values, window["lat"].values)
        return lon, lat
    rows, cols = spatial_dims(window)
    lon = window["lon"].transpose(rows, cols).values.astype("float64")
    lat = window["lat"].transpose(rows, cols).values.astype("float64")
    return lon, lat


def select_bbox(ds: xr.Dataset, bbox: BBox, name: str = "bbox") -> Area:
    """Select the cells of a lon/lat *bbox* (``minlon, minlat, maxlon, maxlat``).

    On a regular grid, every cell whose bounds overlap the box (a degenerate box selects the
    cell holding it). On a projected grid, the box is projected with the cube's ``crs_wkt``
    to find the x/y window, and cells whose centres fall outside the box are masked.

    Raises
    ------
    InputError
        When the cube has no grid or no cell lies within the box (naming *name*).
    """
    bbox = _check_lonlat_bbox(bbox, name)
    kind = grid_kind(ds)
    if kind == "none":
        raise InputError(f"parameter {name!r}: the collection has no spatial grid")
    minx, miny, maxx, maxy = bbox
    if kind == "latlon":
        ilat = _overlap_index(_bounds(ds, "lat"), miny, maxy)
        ilon = _overlap_index(_bounds(ds, "lon"), minx, maxx)
        if ilat.size == 0 or ilon.size == 0:
            raise InputError(
                f"parameter {name!r}: no grid cell within the bbox; the grid covers "
                f"{_extent_text(ds)}"
            )
        return Area(ds.isel(lat=_span(ilat), lon=_span(ilon)))
    window = _projected_window(ds, bbox)
    if window.sizes["x"] == 0 or window.sizes["y"] == 0:
        raise InputError(
            f"parameter {name!r}: no grid cell within the bbox; the grid covers {_extent_text(ds)}"
        )
    lon, lat = _centres(window)
    with np.errstate(invalid="ignore"):
        inside = (lon >= minx) & (lon <= maxx) & (lat >= miny) & (lat <= maxy)
    return _trim(window, inside, name, "bbox", ds)


def select_polygon(ds: xr.Dataset, polygon: BaseGeometry, name: str = "coords") -> Area:
    """Select the cells whose centres lie inside a lon/lat (multi)polygon.

    Raises
    ------
    InputError
        When the geometry is not a valid polygon, the cube has no grid, or no cell centre
        lies inside (a polygon smaller than a cell: use a position query).
    """
    if polygon.geom_type not in ("Polygon", "MultiPolygon") or polygon.is_empty:
        raise InputError(f"parameter {name!r}: expected a POLYGON or MULTIPOLYGON")
    if not polygon.is_valid:
        raise InputError(
            f"parameter {name!r}: invalid polygon ({shapely.is_valid_reason(polygon)})"
        )
    minx, miny, maxx, maxy = polygon.bounds
    if not (-180 <= minx and maxx <= 180 and -90 <= miny and maxy <= 90):
        raise InputError(f"parameter {name!r}: coordinates must be lon -180..180, lat -90..90")
    area = select_bbox(ds, (minx, miny, maxx, maxy), name)
    lon, lat = _centres(area.window)
    shapely.prepare(polygon)
    finite = np.isfinite(lon) & np.isfinite(lat)
    inside = np.zeros(lon.shape, dtype=bool)
    inside[finite] = shapely.contains_xy(polygon, lon[finite], lat[finite])
    if area.mask is not None:
        inside &= area.mask.values
    return _trim(area.window, inside, name, "polygon", ds)


def apply_mask(ds: xr.Dataset, mask: xr.DataArray | None) -> xr.Dataset:
    """Set the data variables that span the mask's dims missing where *mask* is False (lazy)."""
    if mask is None:
        return ds
    out = ds.copy()
    for name, var in ds.data_vars.items():
        if set(mask.dims) <= set(var.dims):
            out[name] = var.where(mask)
            out[name].attrs = var.attrs
            out[name].encoding = var.encoding
    return out


# -- points -------------------------------------------------------------------------------------
def _nearest(values: np.ndarray, target: float, bounds: np.ndarray, circular: bool) -> int | None:
    """Index of the centre nearest *target*, None when farther than one cell width from it.

    A point on the edge between two cells (equally near both centres) belongs to the cell
    that starts there, east or north of it: cells are half-open, [west, east) x [south,
    north), as the map tiles draw them and as ``sel(method="nearest")`` picks them.
    """
    diff = values - target
    if circular:
        diff = (diff + 180.0) % 360.0 - 180.0
    distance = np.abs(diff)
    nearest = float(distance.min())
    tied = np.flatnonzero(distance <= nearest * (1 + 1e-9))
    i = int(tied[np.argmax(diff[tied])])  # of equally near centres, the one past the point
    width = float(bounds[i, 1] - bounds[i, 0])
    return i if abs(float(diff[i])) <= width else None


def nearest_cell(ds: xr.Dataset, lon: float, lat: float, name: str = "coords") -> xr.Dataset:
    """Select the cell nearest a lon/lat point (the spatial dims are dropped).

    Regular grids: the nearest latitude and longitude (longitude wraps on global grids).
    Projected grids: the point is projected with the cube's ``crs_wkt`` and the nearest x
    and y are taken. The point must lie within about one cell of the grid.

    Raises
    ------
    InputError
        When the point is not a valid lon/lat, the cube has no grid, or the point lies
        outside the grid (naming *name* and the grid's extent).
    """
    if not (np.isfinite(lon) and np.isfinite(lat)) or not (-90 <= lat <= 90):
        raise InputError(f"parameter {name!r}: latitude must lie in -90..90")
    if not -180 <= lon <= 360:
        raise InputError(f"parameter {name!r}: longitude must lie in -180..180")
    lon = ((lon + 180.0) % 360.0) - 180.0
    kind = grid_kind(ds)
    if kind == "none":
        raise InputError(f"parameter {name!r}: the collection has no spatial grid")
    if kind == "latlon":
        lon_b = _bounds(ds, "lon")
        circular = bool(lon_b.max() - lon_b.min() >= 359.99)
        i = _nearest(np.asarray(ds["lat"].values, "float64"), lat, _bounds(ds, "lat"), False)
        j = _nearest(np.asarray(ds["lon"].values, "float64"), lon, lon_b, circular)
        picked = None if i is None or j is None else ds.isel(lat=i, lon=j)
    else:
        px, py = _project(ds, np.array([lon]), np.array([lat]))
        x, y = float(px[0]), float(py[0])
        picked = None
        if np.isfinite(x) and np.isfinite(y):
            j = _nearest(np.asarray(ds["x"].values, "float64"), x, _bounds(ds, "x"), False)
            i = _nearest(np.asarray(ds["y"].values, "float64"), y, _bounds(ds, "y"), False)
            if i is not None and j is not None:
                picked = ds.isel(y=i, x=j)
    if picked is None:
        raise InputError(
            f"parameter {name!r}: point ({lon:g}, {lat:g}) lies outside the grid, which "
            f"covers {_extent_text(ds)}"
        )
    return picked


# -- sizes --------------------------------------------------------------------------------------
def _itemsize(dtype: np.dtype) -> int:
    if dtype.kind in ("O", "U", "S", "T"):
        return max(OBJECT_ITEMSIZE, dtype.itemsize)
    return int(dtype.itemsize)


def estimate_bytes(ds: xr.Dataset, data_only: bool = False) -> int:
    """Return the decoded size in bytes of every variable of a (lazy) selection.

    Computed from shapes and dtypes alone: nothing is read. With *data_only*, only the
    data variables count (coordinates and bounds are left out).
    """
    variables = ds.data_vars.values() if data_only else ds.variables.values()
    return int(sum(int(v.size) * _itemsize(v.dtype) for v in variables))


def selection_shape(ds: xr.Dataset) -> dict[str, int]:
    """Return ``{dim: length}`` of a selection (bounds' ``bnds`` dim left out)."""
    return {str(d): int(n) for d, n in ds.sizes.items() if d != "bnds"}
