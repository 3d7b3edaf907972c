"""The size of a download as served: CSV text, compressed NetCDF or GeoTIFF bytes.

:func:`spaceclimate.compute.subset.estimate_bytes` counts the decoded bytes of a selection;
what a client receives differs by format (CSV text is several times larger, deflated NetCDF
and GeoTIFF often smaller). :func:`served_bytes` estimates the served size by writing a small
sample of the selection the way the download will and scaling it:

* CSV: the rows the download emits (cells inside the area x time steps x other dims) times
  the bytes per row of a sample written by :func:`spaceclimate.compute.export.csv_frame`
  (evenly spaced rows and columns of the grid at the first time step, so coordinate and value
  widths and the share of empty cells are those of the selection), plus the header;
* NetCDF: the bytes of a one-cell file written by the same writer (the metadata), the
  coordinates and bounds at their decoded size (they are not compressed) and the data
  variables at their decoded size times the deflate ratio measured on a sample (zlib level
  4, the writer's, on whole rows of the grid at a few time steps spread over the selection);
* GeoTIFF: likewise with float32 bands (GDAL's deflate level 6) and the tags of a 2 x 2
  cell file.

Only the sample is read, a few hundred kilobytes at most.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import xarray as xr

from spaceclimate.compute import export
from spaceclimate.compute.cfencode import COMPLEVEL
from spaceclimate.compute.subset import apply_mask, estimate_bytes, grid_kind, spatial_dims

#: Grid cells (or series steps) sampled for the CSV bytes per row.
CSV_SAMPLE_CELLS = 4096
#: Deflate level of GeoTIFF (GDAL's default ZLEVEL).
GEOTIFF_ZLEVEL = 6
#: Time steps sampled for the deflate ratio (evenly spread over the selection).
SAMPLE_STEPS = 8
#: Values per data variable sampled for the deflate ratio.
DEFLATE_SAMPLE_VALUES = 262_144


@dataclass(frozen=True)
class ServedSize:
    """A download's estimated size: the bytes served and the decoded bytes read."""

    served: int
    decoded: int
    rows: int | None = None


def _cells(ds: xr.Dataset, mask: xr.DataArray | None) -> int:
    """CSV rows of a selection: its cells (inside the area) times every other dim."""
    names = [str(v) for v in ds.data_vars if v not in export.GRID_VARIABLES]
    dims: dict[str, int] = {}
    for name in names:
        dims.update({str(d): int(ds.sizes[d]) for d in ds[name].dims})
    if mask is None:
        return int(np.prod(list(dims.values()))) if dims else 1
    inside = int(np.asarray(mask.values).sum())
    rest = [n for d, n in dims.items() if d not in mask.dims]
    return inside * int(np.prod(rest)) if rest else inside


def _strides(ds: xr.Dataset, cells: int) -> dict[str, slice]:
    """Slices keeping about *cells* grid cells, evenly spread over the grid."""
    rows, cols = spatial_dims(ds)
    ny, nx = int(ds.sizes[rows]), int(ds.sizes[cols])
    step = max(1, int(np.sqrt(ny * nx / max(cells, 1))))
    return {rows: slice(None, None, step), cols: slice(None, None, step)}


def _first_step(ds: xr.Dataset) -> xr.Dataset:
    return ds.isel(time=slice(0, 1)) if "time" in ds.dims and ds.sizes["time"] else ds


def _csv_bytes(ds: xr.Dataset, mask: xr.DataArray | None) -> tuple[int, int]:
    rows = _cells(ds, mask)
    sample, sample_mask = _first_step(ds), mask
    if grid_kind(ds) != "none":
        strides = _strides(ds, CSV_SAMPLE_CELLS)
        sample = sample.isel(strides)
        if mask is not None:
            sample_mask = mask.isel({d: s for d, s in strides.items() if d in mask.dims})
            if not bool(sample_mask.any()):
                sample_mask = None  # too few cells inside to sample: sample the window
    elif "time" in ds.dims:
        sample = ds.isel(time=slice(0, CSV_SAMPLE_CELLS))
    frame = export.csv_frame(sample, sample_mask)
    header = len((",".join(str(c) for c in frame.columns) + "\n").encode())
    if len(frame) == 0:
        return header, rows
    body = frame.to_csv(index=False, header=False, lineterminator="\n").encode()
    return header + int(round(rows * len(body) / len(frame))), rows


def _deflate_ratio(var: xr.DataArray, level: int = COMPLEVEL) -> float:
    """Compressed / decoded size of whole rows of a variable at a few spread time steps."""
    sample = var
    if "time" in var.dims:
        steps = np.unique(np.linspace(0, var.sizes["time"] - 1, SAMPLE_STEPS).astype(int))
        sample = var.isel(time=steps)
    if sample.ndim >= 2:
        row_dim = sample.dims[-2]
        step = max(1, int(np.ceil(sample.size / DEFLATE_SAMPLE_VALUES)))
        sample = sample.isel({row_dim: slice(None, None, step)})
    values = np.asarray(sample.values)
    parts = values.reshape(values.shape[0], -1) if values.ndim >= 2 else values.reshape(1, -1)
    raw = sum(part.nbytes for part in parts)
    if not raw:
        return 1.0
    packed = sum(len(zlib.compress(np.ascontiguousarray(p).tobytes(), level)) for p in parts)
    return packed / raw


def _one_cell(ds: xr.Dataset) -> xr.Dataset:
    return ds.isel({d: slice(0, 1) for d in ds.dims if d != "bnds"})


def _netcdf_bytes(ds: xr.Dataset) -> int:
    overhead = len(export.to_netcdf_bytes(_one_cell(ds)))
    overhead -= estimate_bytes(_one_cell(ds))
    coords = estimate_bytes(ds) - estimate_bytes(ds, data_only=True)
    data = 0.0
    for var in ds.data_vars.values():
        size = float(var.size * var.dtype.itemsize)
        data += size * (_deflate_ratio(var) if var.ndim else 1.0)
    return max(0, overhead) + coords + int(round(data))


def _geotiff_bytes(ds: xr.Dataset) -> int:
    rows, cols = spatial_dims(ds)
    corner = ds.isel({rows: slice(0, 2), cols: slice(0, 2)})
    overhead = len(export.to_geotiff_bytes(corner))
    data = 0.0
    for var in ds.data_vars.values():
        if {rows, cols} <= set(var.dims):
            band = var.astype("float32")
            cells = int(ds.sizes[rows]) * int(ds.sizes[cols])
            data += cells * 4 * _deflate_ratio(band, GEOTIFF_ZLEVEL)
    return overhead + int(round(data))


def served_bytes(ds: xr.Dataset, mask: xr.DataArray | None, fmt: str) -> ServedSize:
    """Estimate the bytes a download of a (lazy) selection serves, by format.

    Parameters
    ----------
    ds
        The selection (its window when *mask* is given), lazy; only a sample is read.
    mask
        Cells inside the area (CSV leaves out the others; NetCDF and GeoTIFF hold them as
        missing values), or None.
    fmt
        ``csv``, ``netcdf`` or ``geotiff``.
    """
    decoded = estimate_bytes(ds)
    if fmt == "csv":
        size, rows = _csv_bytes(ds, mask)
        return ServedSize(size, decoded, rows)
    data = apply_mask(ds, mask)
    if fmt == "geotiff":
        return ServedSize(_geotiff_bytes(data), decoded)
    return ServedSize(_netcdf_bytes(data), decoded)
