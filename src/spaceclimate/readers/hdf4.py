"""HDF4 scientific data sets, with the grid of HDF-EOS files (e.g. MODIS sinusoidal tiles)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import xarray as xr

from spaceclimate.readers._common import corrupt, head
from spaceclimate.readers.base import Declared

MAGIC = b"\x0e\x03\x13\x01"
MAX_ATTR = 4096
_PAIR = re.compile(r"\(\s*([-+0-9.eE]+)\s*,\s*([-+0-9.eE]+)\s*\)")


def _odl_value(text: str, key: str) -> str | None:
    match = re.search(rf"\b{key}\s*=\s*(.+)", text)
    return match.group(1).strip().strip('"') if match else None


def _odl_object_value(text: str, name: str) -> str | None:
    match = re.search(rf"OBJECT\s*=\s*{name}\b.*?VALUE\s*=\s*\"?([^\"\n]+)\"?", text, re.S)
    return match.group(1).strip() if match else None


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "").strip()
    return value


def eos_grid(struct: str) -> dict[str, Any] | None:
    """Parse the first grid of an HDF-EOS ``StructMetadata`` text (None if it has none)."""
    if "GridStructure" not in struct or "XDim" not in struct:
        return None
    try:
        nx = int(_odl_value(struct, "XDim") or "")
        ny = int(_odl_value(struct, "YDim") or "")
        ul = _PAIR.search(_odl_value(struct, "UpperLeftPointMtrs") or "")
        lr = _PAIR.search(_odl_value(struct, "LowerRightMtrs") or "")
    except ValueError:
        return None
    if not (ul and lr):
        return None
    params = re.findall(r"[-+0-9.eE]+", _odl_value(struct, "ProjParams") or "")
    return {
        "nx": nx,
        "ny": ny,
        "ul": (float(ul.group(1)), float(ul.group(2))),
        "lr": (float(lr.group(1)), float(lr.group(2))),
        "projection": _odl_value(struct, "Projection"),
        "radius": float(params[0]) if params and float(params[0]) > 0 else 6371007.181,
    }


def _sds_dtypes() -> dict[int, np.dtype[Any]]:
    """Numpy types of the HDF4 scientific data set type codes."""
    from pyhdf.SD import SDC

    return {
        SDC.CHAR8: np.dtype("S1"),
        SDC.UCHAR8: np.dtype("u1"),
        SDC.INT8: np.dtype("i1"),
        SDC.UINT8: np.dtype("u1"),
        SDC.INT16: np.dtype("i2"),
        SDC.UINT16: np.dtype("u2"),
        SDC.INT32: np.dtype("i4"),
        SDC.UINT32: np.dtype("u4"),
        SDC.FLOAT32: np.dtype("f4"),
        SDC.FLOAT64: np.dtype("f8"),
    }


def _crs_wkt(grid: dict[str, Any]) -> str | None:
    from pyproj import CRS

    if grid["projection"] == "GCTP_SNSOID":
        return str(CRS.from_proj4(f"+proj=sinu +R={grid['radius']} +units=m +no_defs").to_wkt())
    if grid["projection"] == "GCTP_GEO":
        return str(CRS.from_epsg(4326).to_wkt())
    return None


class HDF4Reader:
    """Read HDF4 (and HDF-EOS2 grid) files as raw datasets."""

    name: ClassVar[str] = "hdf4"
    description: ClassVar[str] = "HDF4 and HDF-EOS2 grids"

    def can_open(self, path: Path) -> bool:
        """HDF4 magic bytes."""
        return path.is_file() and head(path, 4) == MAGIC

    def declared(self, path: Path, **options: Any) -> dict[str, Declared] | None:
        """Return the data sets :meth:`open` would read, and its grid's coordinates,
        from the file's metadata only (unknown type codes count 8 bytes a value)."""
        from pyhdf.error import HDF4Error
        from pyhdf.SD import SD, SDC

        if not self.can_open(path):
            return None
        try:
            sd = SD(str(path), SDC.READ)
        except HDF4Error:
            return None
        try:
            sets = sd.datasets()
            grid = eos_grid(str(sd.attributes().get("StructMetadata.0", "")))
        except HDF4Error:
            return None
        finally:
            sd.end()
        dtypes = _sds_dtypes()
        names = list(options.get("variables") or sets)
        found = {
            str(name): Declared(
                tuple(int(n) for n in sets[name][1]), dtypes.get(sets[name][2], np.dtype("f8"))
            )
            for name in names
            if name in sets
        }
        if grid:
            found["x"] = Declared((grid["nx"],), np.dtype("f8"))
            found["y"] = Declared((grid["ny"],), np.dtype("f8"))
        return found

    def open(self, path: Path, **options: Any) -> xr.Dataset:
        """Read the SDS (option ``variables`` restricts which) with attributes and grid."""
        from pyhdf.error import HDF4Error
        from pyhdf.SD import SD, SDC

        if not self.can_open(path):
            raise corrupt(path, "HDF4", "no HDF4 signature")
        try:
            sd = SD(str(path), SDC.READ)
        except HDF4Error as exc:
            raise corrupt(path, "HDF4", exc) from exc
        try:
            gattrs = {k: _clean(v) for k, v in sd.attributes().items()}
            grid = eos_grid(str(gattrs.get("StructMetadata.0", "")))
            names = list(options.get("variables") or sd.datasets().keys())
            data: dict[str, Any] = {}
            for name in names:
                try:
                    sds = sd.select(name)
                except HDF4Error as exc:
                    raise corrupt(path, "HDF4", f"no data set {name!r}") from exc
                values = np.asarray(sds.get())
                dims = [d.split(":")[0] for d in sds.dimensions()]
                if grid and values.shape == (grid["ny"], grid["nx"]):
                    dims = ["y", "x"]
                attrs = {k: _clean(v) for k, v in sds.attributes().items()}
                attrs = {k: v for k, v in attrs.items() if len(str(v)) < MAX_ATTR}
                data[name] = (dims, values, attrs)
                sds.endaccess()
        except HDF4Error as exc:
            raise corrupt(path, "HDF4", exc) from exc
        finally:
            sd.end()
        coords: dict[str, Any] = {}
        if grid:
            dx = (grid["lr"][0] - grid["ul"][0]) / grid["nx"]
            dy = (grid["lr"][1] - grid["ul"][1]) / grid["ny"]
            coords["x"] = ("x", grid["ul"][0] + dx * (np.arange(grid["nx"]) + 0.5))
            coords["y"] = ("y", grid["ul"][1] + dy * (np.arange(grid["ny"]) + 0.5))
            wkt = _crs_wkt(grid)
            if wkt:
                coords["spatial_ref"] = ((), np.int32(0), {"crs_wkt": wkt})
                for _name, (dims, _v, attrs) in data.items():
                    if dims == ["y", "x"]:
                        attrs["grid_mapping"] = "spatial_ref"
                if grid["projection"] == "GCTP_SNSOID":
                    coords["spatial_ref"][2]["grid_mapping_name"] = "sinusoidal"
        ds = xr.Dataset(data, coords=coords)
        core = str(gattrs.get("CoreMetadata.0", ""))
        start_d, start_t = (
            _odl_object_value(core, "RANGEBEGINNINGDATE"),
            _odl_object_value(core, "RANGEBEGINNINGTIME"),
        )
        end_d, end_t = (
            _odl_object_value(core, "RANGEENDINGDATE"),
            _odl_object_value(core, "RANGEENDINGTIME"),
        )
        if start_d:
            ds.attrs["time_coverage_start"] = f"{start_d}T{(start_t or '00:00:00')[:8]}Z"
        if end_d:
            ds.attrs["time_coverage_end"] = f"{end_d}T{(end_t or '23:59:59')[:8]}Z"
        ds.attrs.update({k: v for k, v in gattrs.items() if len(str(v)) < MAX_ATTR})
        return ds
