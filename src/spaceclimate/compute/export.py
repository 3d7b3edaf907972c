"""Writing a selection of a cube out: CF NetCDF bytes, tidy CSV text and GeoTIFF bytes.

The writers take a (lazy) selection from :mod:`spaceclimate.compute.subset` that the caller
has already sized; they load it and encode it. Metadata travels with the data: the cube's
global attributes, the collection's citation, DOI and licence, and a history line naming the
selection.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from rasterio.crs import CRS as RasterCRS
from rasterio.io import MemoryFile
from rasterio.transform import Affine

from spaceclimate.compute.acdd import collection_acdd, extent_acdd
from spaceclimate.compute.cfencode import cf_dataset
from spaceclimate.compute.subset import grid_crs, grid_kind, spatial_dims, vertical_dim
from spaceclimate.errors import InputError

#: Rows of CSV encoded per block when streaming.
CSV_BLOCK_ROWS = 10_000
#: Variables that describe the grid rather than hold data (left out of CSV and GeoTIFF).
GRID_VARIABLES = ("lat_bnds", "lon_bnds", "time_bnds", "x_bnds", "y_bnds", "crs")
COORD_UNITS = {"x": "m", "y": "m"}
#: The creator's attributes: a cube that names its creator's contact (carried from its source
#: files or declared by its recipe) keeps its own in downloads, over the collection's.
CREATOR_ATTRS = (
    "creator_name",
    "creator_url",
    "creator_email",
    "creator_type",
    "creator_institution",
)


# -- metadata -----------------------------------------------------------------------------------
def collection_attrs(
    collection: Mapping[str, Any], query: str = "", hub_url: str | None = None
) -> dict[str, Any]:
    """Return global attributes naming a collection's citation, DOI, licence and the query.

    The collection's ACDD discovery attributes (title, summary, keywords, creator,
    contributors, publisher, platform, instrument, ...) come with them, read from its STAC
    metadata (see :func:`spaceclimate.compute.acdd.collection_acdd`).

    Parameters
    ----------
    collection
        The STAC Collection of the cube (``sci:citation``, ``sci:doi``, ``license``, links).
    query
        A short description of the selection, recorded in ``history``.
    hub_url
        The hub's public base URL (``publisher_url``, ``metadata_link``), when known.
    """
    attrs: dict[str, Any] = collection_acdd(collection, hub_url)
    attrs["source_collection"] = str(collection.get("id", ""))
    if collection.get("sci:citation"):
        attrs["citation"] = str(collection["sci:citation"])
    if collection.get("sci:doi"):
        attrs["doi"] = str(collection["sci:doi"])
    links = [link for link in collection.get("links", []) if link.get("rel") == "license"]
    if links:
        attrs["license_url"] = str(links[0].get("href", ""))
        if links[0].get("title"):
            attrs["license"] = str(links[0]["title"])
    if "license" not in attrs and collection.get("license"):
        attrs["license"] = str(collection["license"])
    if query:
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        attrs["sco_selection"] = query
        attrs["comment"] = f"A selection of collection {attrs['source_collection']}: {query}"
        attrs["history_append"] = f"{stamp} subset by the spaceclimate hub: {query}"
    return attrs


def _attr_value(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (str, int, float, np.number)):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(v, (int, float)) for v in value):
        return list(value)
    return json.dumps(value, default=str)


def _with_attrs(ds: xr.Dataset, extra: Mapping[str, Any]) -> dict[str, Any]:
    attrs = {str(k): _attr_value(v) for k, v in ds.attrs.items() if v is not None}
    extra = dict(extra)
    if attrs.get("creator_email") or attrs.get("creator_url"):
        extra = {k: v for k, v in extra.items() if k not in CREATOR_ATTRS}
    line = extra.pop("history_append", "")
    attrs.update(extra)
    if line:
        attrs["history"] = f"{attrs['history']}\n{line}" if attrs.get("history") else line
    return attrs


def filename(collection_id: str, ds: xr.Dataset, extension: str) -> str:
    """Return a download file name: collection, variables and time range (``.nc``, ...)."""
    parts = [collection_id, "-".join(str(v) for v in ds.data_vars)]
    if "time" in ds.dims and ds.sizes["time"]:
        stamps = pd.to_datetime(ds["time"].values[[0, -1]])
        first, last = (s.strftime("%Y%m%d") for s in stamps)
        parts.append(first if first == last else f"{first}-{last}")
    name = "_".join(p for p in parts if p)
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name) + extension


# -- NetCDF -------------------------------------------------------------------------------------
def to_netcdf_bytes(ds: xr.Dataset, attrs: Mapping[str, Any] | None = None) -> bytes:
    """Encode a selection as a CF-1.10, ACDD-1.3 NetCDF-4 file (compressed) held in memory.

    Variables are encoded by :func:`spaceclimate.compute.cfencode.cf_dataset`; the global
    ``geospatial_*`` and ``time_coverage_*`` attributes describe the selection written (see
    :func:`spaceclimate.compute.acdd.extent_acdd`), not the whole collection.
    """
    out, encoding = cf_dataset(ds)
    merged = _with_attrs(ds, attrs or {})
    merged.update(extent_acdd(out))
    merged.pop("coordinates", None)  # CF: a variable attribute only
    out.attrs = merged
    data = out.to_netcdf(engine="h5netcdf", encoding=encoding)
    return bytes(data) if data is not None else b""


# -- CSV ----------------------------------------------------------------------------------------
def _units(var: xr.DataArray) -> str:
    return str(var.attrs.get("units", "")).strip()


def _header(name: str, units: str) -> str:
    return f"{name} [{units}]" if units else name


def csv_frame(ds: xr.Dataset, mask: xr.DataArray | None = None) -> pd.DataFrame:
    """Return a selection as a tidy table: one row per time step and cell, a column a variable.

    Columns are ``time`` (ISO 8601, UTC), ``lon``, ``lat`` (and ``x``, ``y`` on projected
    grids, any other dimension such as ``region``) followed by the variables with their
    units in the header (``sst [K]``). With *mask*, cells outside the area are left out.
    """
    data = ds.drop_vars([v for v in GRID_VARIABLES if v in ds.variables]).compute()
    names = [str(v) for v in data.data_vars]
    if not names:
        raise InputError("parameter 'variables': the selection holds no variable")
    dims = [str(d) for d in data[names[0]].dims]
    for name in names[1:]:
        dims += [str(d) for d in data[name].dims if str(d) not in dims]
    if not dims:  # one value a variable (a position on a static map): one row
        data, dims = data.expand_dims("_row"), ["_row"]
    frame = data[names].to_dataframe(dim_order=dims).reset_index()
    frame = frame.drop(columns=[c for c in frame.columns if c == "_row"])
    if mask is not None:
        rows, cols = mask.dims
        inside = mask.to_series().rename("_inside").reset_index()
        frame = frame.merge(inside, on=[rows, cols], how="left")
        frame = frame[frame["_inside"].fillna(False).astype(bool)].drop(columns="_inside")
    if "time" in frame.columns:
        codes, stamps = pd.factorize(frame["time"])  # format each time step once
        text = pd.DatetimeIndex(stamps).strftime("%Y-%m-%dT%H:%M:%SZ").to_numpy(dtype=object)
        frame["time"] = text[codes]
    lead = [c for c in ("time", "lon", "lat", "x", "y") if c in frame.columns]
    others = [c for c in frame.columns if c not in lead and c not in names]
    frame = frame[lead + others + names]
    renames = {c: _header(c, COORD_UNITS.get(str(c), "")) for c in lead + others}
    renames.update({n: _header(n, _units(data[n])) for n in names})
    return frame.rename(columns=renames)


Window = dict[str, slice]


def _chunk_length(ds: xr.Dataset, dim: str) -> int:
    """Return the longest chunk of the data variables along *dim* (1 when none is chunked)."""
    longest = 1
    for var in ds.data_vars.values():
        if var.chunks is not None and dim in var.dims:
            longest = max(longest, int(var.chunks[var.dims.index(dim)][0]))
    return longest


def _spans(length: int, read: int, piece: int) -> Iterator[tuple[slice, list[slice]]]:
    """Yield windows of *read* indices of a dimension, each with its pieces of *piece* indices.

    The pieces' slices are relative to their window. *read* is rounded up to whole pieces.
    """
    read = max(piece, -(-read // piece) * piece)
    for start in range(0, length, read):
        stop = min(start + read, length)
        pieces = [slice(p - start, min(p + piece, stop) - start) for p in range(start, stop, piece)]
        yield slice(start, stop), pieces


def csv_windows(ds: xr.Dataset, dims: list[str]) -> Iterator[tuple[Window, list[Window]]]:
    """Yield the windows a CSV of *ds* is read in, each with the pieces it is written in.

    Rows follow *dims* (the first dimension slowest). A piece holds at most
    :data:`CSV_BLOCK_ROWS` rows (or one line along the last dimensions when a line alone is
    longer); a window spans whole chunks of the cube along the dimension it is cut on, so
    each chunk is decoded once a window. Windows come in row order.
    """
    if not dims:
        yield {}, [{}]
        return
    lead, rest = dims[0], dims[1:]
    cells = int(np.prod([ds.sizes[d] for d in rest])) if rest else 1
    if cells <= CSV_BLOCK_ROWS or not rest:
        step = max(1, CSV_BLOCK_ROWS // max(cells, 1))
        read = max(step, _chunk_length(ds, lead))
        for window, pieces in _spans(ds.sizes[lead], read, step):
            yield {lead: window}, [{lead: p} for p in pieces]
        return
    second = rest[0]
    line = cells // max(ds.sizes[second], 1)
    step = max(1, CSV_BLOCK_ROWS // max(line, 1))
    read = max(step, _chunk_length(ds, second))
    for index in range(ds.sizes[lead]):
        for window, pieces in _spans(ds.sizes[second], read, step):
            yield {lead: slice(index, index + 1), second: window}, [{second: p} for p in pieces]


def _csv_dims(ds: xr.Dataset) -> list[str]:
    names = [str(v) for v in ds.data_vars]
    if not names:
        raise InputError("parameter 'variables': the selection holds no variable")
    dims = [str(d) for d in ds[names[0]].dims]
    for name in names[1:]:
        dims += [str(d) for d in ds[name].dims if str(d) not in dims]
    return dims


def _sliced(mask: xr.DataArray | None, *windows: Window) -> xr.DataArray | None:
    if mask is None:
        return None
    for window in windows:
        own = {d: s for d, s in window.items() if d in mask.dims}
        if own:
            mask = mask.isel(own)
    return mask


def iter_csv(
    ds: xr.Dataset,
    mask: xr.DataArray | None = None,
    between: Callable[[], None] | None = None,
) -> Iterator[str]:
    """Yield a selection as tidy CSV text (see :func:`csv_frame`), a piece at a time.

    The selection is read a window at a time (whole chunks along the dimension it is cut
    on) and written in pieces of at most :data:`CSV_BLOCK_ROWS` rows, so memory stays
    bounded by a window however large the selection: a whole collection streams.
    *between* is called before each piece after the first (a server lets other requests
    through there).
    """
    data = ds.drop_vars([v for v in GRID_VARIABLES if v in ds.variables])
    dims = _csv_dims(data)
    header = True
    for window, pieces in csv_windows(data, dims):
        block = data.isel(window).load() if window else data.load()
        for piece in pieces:
            if between is not None and not header:
                between()
            part = block.isel(piece) if piece else block
            frame = csv_frame(part, _sliced(mask, window, piece))
            if header:
                yield ",".join(str(c) for c in frame.columns) + "\n"
                header = False
            yield frame.to_csv(index=False, header=False, lineterminator="\n")
        del block
    if header:  # an empty selection: the header alone
        frame = csv_frame(data, mask)
        yield ",".join(str(c) for c in frame.columns) + "\n"


# -- GeoTIFF ------------------------------------------------------------------------------------
def _regular_step(ds: xr.Dataset, dim: str) -> float:
    """Return the cell size along *dim*; InputError when the spacing is not regular."""
    values = np.asarray(ds[dim].values, dtype="float64")
    if values.size > 1:
        diffs = np.diff(values)
        if not np.allclose(diffs, diffs[0], rtol=1e-4, atol=0):
            raise InputError(f"parameter 'format': the grid is not regular along {dim!r}")
        return float(diffs[0])
    bounds = f"{dim}_bnds"
    if bounds in ds.variables:
        return float(np.abs(np.diff(np.asarray(ds[bounds].values, dtype="float64"))).item())
    raise InputError(f"parameter 'format': a one-cell selection along {dim!r} has no cell size")


def to_geotiff_bytes(ds: xr.Dataset, attrs: Mapping[str, Any] | None = None) -> bytes:
    """Encode one time step of a gridded selection as a GeoTIFF, a float32 band a variable.

    Regular grids are written in EPSG:4326, projected grids in their own CRS; rows run north
    to south; missing values are NaN (the nodata value).

    Raises
    ------
    InputError
        When the selection has no grid, several time steps (naming ``datetime``) or several
        vertical levels (naming ``z``), or is not a regular grid.
    """
    if grid_kind(ds) == "none":
        raise InputError(
            "parameter 'format': GeoTIFF needs a gridded collection; use netcdf or csv"
        )
    if "time" in ds.dims:
        if ds.sizes["time"] != 1:
            raise InputError(
                f"parameter 'datetime': GeoTIFF holds one time step but the selection has "
                f"{ds.sizes['time']}; give a single date-time"
            )
        ds = ds.isel(time=0)
    zdim = vertical_dim(ds)
    if zdim is not None and ds.sizes[zdim] != 1:
        raise InputError("parameter 'z': GeoTIFF holds one level; give a single z")
    if zdim is not None:
        ds = ds.isel({zdim: 0})
    rows, cols = spatial_dims(ds)
    names = [str(n) for n in ds.data_vars if set(ds[n].dims) == {rows, cols}]
    if not names:
        raise InputError("parameter 'format': no variable of the selection is a 2-D map")
    xs = np.asarray(ds[cols].values, dtype="float64")
    ys = np.asarray(ds[rows].values, dtype="float64")
    dx, dy = _regular_step(ds, cols), _regular_step(ds, rows)
    transform = Affine(dx, 0.0, xs[0] - dx / 2, 0.0, -dy, ys[-1] + dy / 2)
    crs = RasterCRS.from_wkt(grid_crs(ds).to_wkt())
    bands = [np.asarray(ds[n].transpose(rows, cols).values, dtype="float32")[::-1] for n in names]
    tags = {k: str(v) for k, v in _with_attrs(ds, attrs or {}).items()}
    profile = {
        "driver": "GTiff",
        "width": xs.size,
        "height": ys.size,
        "count": len(names),
        "dtype": "float32",
        "crs": crs,
        "transform": transform,
        "nodata": float("nan"),
        "compress": "deflate",
    }
    if xs.size >= 256 and ys.size >= 256:
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    with MemoryFile() as memfile:
        with memfile.open(**profile) as dst:
            for index, (name, band) in enumerate(zip(names, bands, strict=True), start=1):
                dst.write(band, index)
                dst.set_band_description(index, name)
                dst.update_tags(
                    index,
                    units=_units(ds[name]),
                    long_name=str(ds[name].attrs.get("long_name", name)),
                )
            dst.update_tags(**{k: v.replace("\n", " | ") for k, v in tags.items()})
        data = memfile.read()
    return bytes(data)
