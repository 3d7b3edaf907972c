"""NetCDF3, NetCDF4 and HDF5 (including groups), opened without any decoding."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import xarray as xr

from spaceclimate.errors import CorruptFileError
from spaceclimate.readers._common import corrupt, head

MAGIC = (b"CDF\x01", b"CDF\x02", b"CDF\x05", b"\x89HDF\r\n\x1a\n")
SUFFIXES = {".nc", ".nc4", ".h5", ".he5", ".hdf5", ".cdf"}


class NetCDFReader:
    """Read NetCDF and HDF5 files as raw datasets (values and attributes as stored)."""

    name: ClassVar[str] = "netcdf"
    description: ClassVar[str] = "NetCDF3, NetCDF4 and HDF5 files (optionally one group)"

    def can_open(self, path: Path) -> bool:
        """Recognise the file by its magic bytes, or by suffix for empty headers."""
        if not path.is_file():
            return False
        magic = head(path)
        return magic.startswith(MAGIC) or (magic == b"" and path.suffix.lower() in SUFFIXES)

    def open(self, path: Path, **options: Any) -> xr.Dataset:
        """Open *path*; options ``group`` (str) and ``variables`` (list of names to keep)."""
        group = options.get("group")
        wanted = options.get("variables")
        if not path.is_file():
            raise corrupt(path, "NetCDF/HDF5", "not a file")
        if not head(path).startswith(MAGIC):
            raise corrupt(path, "NetCDF/HDF5", "no NetCDF or HDF5 signature")
        errors: list[BaseException] = []
        for engine in ("netcdf4", "h5netcdf"):
            try:
                ds = xr.open_dataset(
                    path,
                    engine=engine,
                    group=group,
                    decode_times=False,
                    mask_and_scale=False,
                    decode_timedelta=False,
                    cache=False,
                )
                break
            except Exception as exc:  # noqa: BLE001 - each engine fails its own way
                errors.append(exc)
        else:
            raise corrupt(path, "NetCDF/HDF5", errors[0])
        try:
            if wanted:
                missing = [v for v in wanted if v not in ds.variables]
                if missing:
                    raise corrupt(path, "NetCDF/HDF5", f"no variable {missing[0]!r}")
                ds = ds[list(wanted)]
            self._touch(ds)
        except CorruptFileError:
            ds.close()
            raise
        except Exception as exc:  # noqa: BLE001 - any read failure means a damaged file
            ds.close()
            raise corrupt(path, "NetCDF/HDF5", exc) from exc
        for var in ds.variables.values():
            fill = var.encoding.get("_FillValue")
            if fill is not None and "_FillValue" not in var.attrs:
                var.attrs["_FillValue"] = fill
        return ds

    @staticmethod
    def _touch(ds: xr.Dataset) -> None:
        """Read the last element of every variable so truncated files fail now."""
        for var in ds.variables.values():
            if var.size == 0:
                continue
            index = tuple(-1 for _ in var.shape)
            np.asarray(var[index].values)
