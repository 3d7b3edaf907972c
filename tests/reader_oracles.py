"""What a source file declares about its variables, read without the hub's readers.

Each function reads one format with its own library calls (or the raw metadata files) and
returns ``{variable: (attributes, stored dtype)}`` for the reader conformance suite to check
the readers' datasets against. Text tables declare no attributes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

Declared = dict[str, tuple[dict[str, Any], np.dtype[Any] | None]]


def netcdf(path: Path, options: dict[str, Any]) -> Declared:
    """Every variable of the root group (or the ``group`` option's group)."""
    import netCDF4

    out: Declared = {}
    with netCDF4.Dataset(path) as nc:
        group = nc[options["group"]] if options.get("group") else nc
        for name, var in group.variables.items():
            attrs = {str(k): var.getncattr(k) for k in var.ncattrs()}
            dtype = var.dtype if isinstance(var.dtype, np.dtype) else None
            out[str(name)] = (attrs, dtype)
    return out


def hdf4(path: Path, options: dict[str, Any]) -> Declared:
    """Every scientific data set; text attributes without their NUL padding."""
    from pyhdf.SD import SD, SDC

    def clean(value: Any) -> Any:
        return value.replace("\x00", "").strip() if isinstance(value, str) else value

    out: Declared = {}
    sd = SD(str(path), SDC.READ)
    try:
        for name in sd.datasets():
            sds = sd.select(name)
            attrs = {k: clean(v) for k, v in sds.attributes().items()}
            corner = tuple(slice(0, 1) for _ in sds.dimensions())
            dtype = np.asarray(sds[corner] if corner else sds.get()).dtype
            out[name] = (attrs, dtype)
            sds.endaccess()
    finally:
        sd.end()
    return out


def geotiff(path: Path, options: dict[str, Any]) -> Declared:
    """Each band's units, description and nodata value, named as the ``variable`` option says."""
    import rasterio

    out: Declared = {}
    with rasterio.open(path) as src:
        for i in range(src.count):
            single = src.count == 1 and options.get("variable")
            name = str(options["variable"]) if single else f"band_{i + 1}"
            attrs: dict[str, Any] = {}
            if src.units[i]:
                attrs["units"] = src.units[i]
            if src.descriptions[i]:
                attrs["long_name"] = src.descriptions[i]
            if src.nodatavals[i] is not None:
                attrs["_FillValue"] = src.nodatavals[i]
            out[name] = (attrs, np.dtype(src.dtypes[i]))
    return out


def zarr(path: Path, options: dict[str, Any]) -> Declared:
    """Each array's attributes and dtype from its metadata files (Zarr v2 or v3)."""
    out: Declared = {}
    for meta in sorted(path.glob("*/.zarray")):
        attrs_file = meta.parent / ".zattrs"
        attrs = json.loads(attrs_file.read_text()) if attrs_file.exists() else {}
        attrs.pop("_ARRAY_DIMENSIONS", None)
        out[meta.parent.name] = (attrs, np.dtype(json.loads(meta.read_text())["dtype"]))
    for meta in sorted(path.glob("*/zarr.json")):
        doc = json.loads(meta.read_text())
        if doc.get("node_type") == "array":
            attrs = dict(doc.get("attributes", {}))
            attrs.pop("_ARRAY_DIMENSIONS", None)
            out[meta.parent.name] = (attrs, None)
    return out


def table(path: Path, options: dict[str, Any]) -> Declared:
    """A text table declares no attributes."""
    return {}


#: The built-in readers' formats; a plugin reader without an entry here gets the suite's
#: other checks.
DECLARED: dict[str, Callable[[Path, dict[str, Any]], Declared]] = {
    "netcdf": netcdf,
    "hdf4": hdf4,
    "geotiff": geotiff,
    "zarr": zarr,
    "table": table,
}


def same_value(declared: Any, got: Any) -> bool:
    """Whether an attribute value came through unchanged (lists and arrays alike)."""
    if isinstance(declared, str) or isinstance(got, str):
        return str(declared) == str(got)
    a, b = np.asarray(declared), np.asarray(got)
    if a.shape != b.shape and a.size == b.size == 1:
        a, b = a.reshape(()), b.reshape(())
    both_float = a.dtype.kind == "f" and b.dtype.kind == "f"
    return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=both_float))
