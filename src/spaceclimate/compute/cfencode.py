"""CF-1.10 encoding of a selection written as NetCDF: variables' roles, attributes and fills.

A harmonised cube is CF already in memory; writing it out needs the file-level rules that
xarray leaves to the writer:

* coordinates, cell bounds and the grid-mapping variable carry no ``_FillValue`` (CF 2.5.1,
  7.1); bounds and the grid mapping are written as variables of their own, not as
  coordinates, so no global ``coordinates`` attribute appears;
* ``valid_min``, ``valid_max``, ``valid_range``, ``actual_range`` and ``flag_values`` have
  the data type of their variable (CF 2.5.1, 3.5);
* grid mappings hold the attributes CF requires of their projection (Appendix F), named
  from the CRS parameters pyproj writes under other names;
* every variable a reader meets has a ``long_name``, and the ACDD ``coverage_content_type``
  (ISO 19115-1) comes from the ECV table;
* text coordinates (a ``region`` label per series) are written as character arrays with a
  string-length dimension, which CF readers decode back to text.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from spaceclimate.ecv import get_variable
from spaceclimate.errors import RecipeError

#: Attributes whose values must have the data type of their variable.
TYPED_ATTRS = ("valid_min", "valid_max", "valid_range", "actual_range", "flag_values")
#: Long names given to variables the cube leaves unnamed.
LONG_NAMES = {
    "lat": "latitude",
    "lon": "longitude",
    "time": "time",
    "x": "x coordinate of projection",
    "y": "y coordinate of projection",
    "crs": "coordinate reference system",
    "region": "region",
}
#: Time encoding of every date-time variable (the time axis and its bounds).
TIME_ENCODING = {
    "units": "seconds since 1970-01-01 00:00:00",
    "calendar": "proleptic_gregorian",
    "dtype": "float64",
}
#: Deflate level of data variables.
COMPLEVEL = 4


def _bounds_names(ds: xr.Dataset) -> set[str]:
    names = {str(v.attrs["bounds"]) for v in ds.variables.values() if "bounds" in v.attrs}
    return {n for n in names if n in ds.variables}


def _grid_mapping_names(ds: xr.Dataset) -> set[str]:
    variables = ds.variables.values()
    names = {str(v.attrs["grid_mapping"]) for v in variables if "grid_mapping" in v.attrs}
    return {n for n in names if n in ds.variables}


def _complete_grid_mapping(attrs: dict[str, Any]) -> dict[str, Any]:
    """Add the attributes CF 1.10 requires of a projection that pyproj names otherwise."""
    out = dict(attrs)
    out.setdefault("long_name", LONG_NAMES["crs"])
    name = out.get("grid_mapping_name")
    if name == "polar_stereographic" and "latitude_of_projection_origin" not in out:
        # variant B (a standard parallel): the projection plane touches the nearer pole
        parallel = float(out.get("standard_parallel", 90.0))
        out["latitude_of_projection_origin"] = 90.0 if parallel >= 0 else -90.0
    if name == "sinusoidal" and "longitude_of_central_meridian" not in out:
        out["longitude_of_central_meridian"] = float(out.get("longitude_of_projection_origin", 0.0))
    return out


def _typed(value: Any, dtype: np.dtype) -> Any:
    array = np.asarray(value)
    if array.dtype.kind not in "iufb":
        return value
    if dtype.kind in "iu" and not np.all(np.isfinite(array)):
        return value
    cast = array.astype(dtype)
    return cast if cast.ndim else cast[()]


def _content_type(name: str) -> str | None:
    try:
        return get_variable(name).coverage_content_type
    except RecipeError:
        return None


def _text(values: np.ndarray) -> np.ndarray:
    return np.array([str(v) for v in values.ravel()], dtype=object).reshape(values.shape)


def cf_dataset(ds: xr.Dataset) -> tuple[xr.Dataset, dict[str, dict[str, Any]]]:
    """Return a loaded selection and its ``to_netcdf`` encoding, ready to write as CF-1.10.

    Parameters
    ----------
    ds
        A (lazy) selection of a harmonised cube; it is loaded.

    Returns
    -------
    tuple
        The dataset to write (attributes completed, bounds and grid mapping as variables)
        and the per-variable encoding (fills, compression, time units, character arrays).
    """
    out = ds.compute()
    aside = (_bounds_names(out) | _grid_mapping_names(out)) & {str(c) for c in out.coords}
    aside -= {str(d) for d in out.dims}
    if aside:
        out = out.reset_coords(sorted(aside))
    bounds, mappings = _bounds_names(out), _grid_mapping_names(out)
    encoding: dict[str, dict[str, Any]] = {}
    for key in list(out.variables):
        name = str(key)
        var = out.variables[key]
        attrs = dict(var.attrs)
        enc: dict[str, Any] = {}
        is_data = name in out.data_vars and name not in bounds and name not in mappings
        if name in mappings:
            attrs = _complete_grid_mapping(attrs)
        if name in bounds:
            attrs = {}  # bounds inherit their parent's metadata (CF 7.1)
        elif name in LONG_NAMES:
            attrs.setdefault("long_name", LONG_NAMES[name])
        if var.dtype.kind in ("T", "U", "O", "S"):
            text = xr.Variable(var.dims, _text(np.asarray(var.values)), attrs)
            if name in out.coords:
                out = out.assign_coords({name: text})
            else:
                out[name] = text
            encoding[name] = {"dtype": "S1", "char_dim_name": f"{name}_strlen"}
            continue
        if var.dtype.kind == "M":
            enc.update(TIME_ENCODING)
        if is_data:
            content = _content_type(name)
            if content:
                attrs.setdefault("coverage_content_type", content)
            if var.dtype.kind == "f":
                enc["_FillValue"] = var.dtype.type(np.nan)
            if var.ndim:
                enc.update(zlib=True, complevel=COMPLEVEL)
        else:
            enc["_FillValue"] = None
            if name not in mappings and name not in bounds:
                attrs.setdefault("coverage_content_type", "coordinate")
        for attr in TYPED_ATTRS:
            if attr in attrs and var.dtype.kind in "iuf":
                attrs[attr] = _typed(attrs[attr], var.dtype)
        out[name].attrs = attrs
        encoding[name] = enc
    return out, encoding
