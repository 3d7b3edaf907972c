"""NetCDF3, NetCDF4 and HDF5 (including groups), opened without any decoding."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import netCDF4
import numpy as np
import xarray as xr
from xarray.backends.locks import HDF5_LOCK, NETCDFC_LOCK, combine_locks

from spaceclimate.errors import CorruptFileError
from spaceclimate.readers._classic import classic_size
from spaceclimate.readers._common import corrupt, head, restore_attrs, subset
from spaceclimate.readers.base import Declared

MAGIC = (b"CDF\x01", b"CDF\x02", b"CDF\x05", b"\x89HDF\r\n\x1a\n")
SUFFIXES = {".nc", ".nc4", ".h5", ".he5", ".hdf5", ".cdf"}


class _ReentrantLock:
    """A re-entrant lock with the interface xarray expects of the locks it is given."""

    def __init__(self) -> None:
        self._lock = threading.RLock()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        return self._lock.acquire(blocking, timeout)

    def release(self) -> None:
        self._lock.release()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *args: object) -> None:
        self.release()

    def locked(self) -> bool:
        if self._lock.acquire(blocking=False):
            self._lock.release()
            return False
        return True


#: netCDF-C and HDF5 are not thread-safe, and xarray locks only their data reads: files are
#: opened (every variable's metadata read) while holding this lock, which every later read of
#: the opened files takes too (with xarray's own), so harmonising threads never call into
#: the libraries at the same time.
_LIBRARY_LOCK = _ReentrantLock()
_READ_LOCK = combine_locks([_LIBRARY_LOCK, NETCDFC_LOCK, HDF5_LOCK])  # type: ignore[list-item]


def _root_attrs(path: Path) -> dict[str, Any]:
    """The file's global attributes (empty when the netCDF library cannot read them)."""
    try:
        with _LIBRARY_LOCK, netCDF4.Dataset(path) as nc:
            return {k: nc.getncattr(k) for k in nc.ncattrs()}
    except Exception:  # noqa: BLE001 - only descriptive attributes are lost
        return {}


def _truncated(path: Path) -> str | None:
    """Say how a classic file is cut short (HDF5 checks its own end of file; the netCDF
    library reads a truncated classic file's missing values as zeros)."""
    needed = classic_size(path)
    size = path.stat().st_size
    if needed is not None and size < needed:
        return f"truncated: {size} bytes, its header needs {needed}"
    return None


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
        """Open *path*; options ``group`` (str), ``variables`` (list of names to keep) and
        ``also_groups`` (groups whose variables join the group's: a product whose values
        and geolocation lie in sibling groups; the group's own names win)."""
        ds = self._open_group(path, options.get("group"), options.get("variables"))
        for extra in options.get("also_groups") or []:
            other = self._open_group(path, str(extra), None)
            try:
                joined = {n: other.variables[n] for n in other.variables if n not in ds.variables}
                for name, var in joined.items():
                    for dim, size in zip(var.dims, var.shape, strict=True):
                        if ds.sizes.get(dim, size) != size:
                            raise corrupt(path, "NetCDF/HDF5", f"{extra}/{name}: {dim} differs")
                base = ds
                ds = base.assign(
                    {str(n): xr.Variable(v.dims, v.values, v.attrs) for n, v in joined.items()}
                )
                ds.set_close(base.close)  # closing the result closes the file
            except BaseException:
                ds.close()
                raise
            finally:
                other.close()
        return ds

    def _open_group(self, path: Path, group: str | None, wanted: list[str] | None) -> xr.Dataset:
        if not path.is_file():
            raise corrupt(path, "NetCDF/HDF5", "not a file")
        if not head(path).startswith(MAGIC):
            raise corrupt(path, "NetCDF/HDF5", "no NetCDF or HDF5 signature")
        short = _truncated(path)
        if short:
            raise corrupt(path, "NetCDF/HDF5", short)
        errors: list[BaseException] = []
        with _LIBRARY_LOCK:
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
                        lock=_READ_LOCK,
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
                ds = subset(ds, wanted)
            self._touch(ds)
        except CorruptFileError:
            ds.close()
            raise
        except Exception as exc:  # noqa: BLE001 - any read failure means a damaged file
            ds.close()
            raise corrupt(path, "NetCDF/HDF5", exc) from exc
        if group:  # a group's dataset carries the file's global attributes too (its own win)
            ds.attrs = {**_root_attrs(path), **ds.attrs}
        restore_attrs(ds)
        return ds

    def declared(self, path: Path, **options: Any) -> dict[str, Declared] | None:
        """Return the variables :meth:`open` would return, from the file's metadata only.

        With option ``variables``, those and the group's dimension coordinates (which
        opening reads whole); otherwise every variable of the group.
        """
        if not path.is_file() or not head(path).startswith(MAGIC) or _truncated(path):
            return None
        found = _declared_group(path, options.get("group"))
        if found is None:
            return None
        variables, dims = found
        for extra in options.get("also_groups") or []:  # their variables join the group's
            joined = _declared_group(path, str(extra))
            if joined is None:
                return None
            for name, var in joined[0].items():
                variables.setdefault(name, var)
                dims.setdefault(name, joined[1][name])
        wanted = options.get("variables")
        if wanted:
            keep = set(wanted) | {name for name, var in variables.items() if (name,) == dims[name]}
            variables = {name: var for name, var in variables.items() if name in keep}
        return variables

    @staticmethod
    def _touch(ds: xr.Dataset) -> None:
        """Read the last element of every variable so truncated files fail now."""
        for var in ds.variables.values():
            if var.size == 0:
                continue
            index = tuple(-1 for _ in var.shape)
            np.asarray(var[index].values)


_Found = tuple[dict[str, Declared], dict[str, tuple[str, ...]]]


def _dtype(value: Any) -> np.dtype[Any]:
    """A variable's value type as numpy says it (variable-length types as objects)."""
    try:
        dtype = np.dtype(value)
    except TypeError:
        return np.dtype(object)
    return np.dtype(object) if dtype.itemsize == 0 else dtype


def _declared_group(path: Path, group: str | None) -> _Found | None:
    found = _declared_netcdf(path, group)
    return found if found is not None else _declared_hdf5(path, group)


def _declared_netcdf(path: Path, group: str | None) -> _Found | None:
    """Shapes, types and dimension names of a group's variables, by the netCDF library."""
    try:
        with _READ_LOCK, netCDF4.Dataset(path, "r") as nc:
            where = nc[group] if group else nc
            variables = {
                str(name): Declared(tuple(int(n) for n in var.shape), _dtype(var.dtype))
                for name, var in where.variables.items()
            }
            dims = {
                str(name): tuple(map(str, var.dimensions)) for name, var in where.variables.items()
            }
        return variables, dims
    except Exception:  # noqa: BLE001 - not readable this way: try the HDF5 library
        return None


def _declared_hdf5(path: Path, group: str | None) -> _Found | None:
    """Shapes and types of a group's data sets, by the HDF5 library (files netCDF cannot open)."""
    import h5py

    try:
        with _READ_LOCK, h5py.File(path, "r") as h5:
            where = h5[group] if group else h5
            variables: dict[str, Declared] = {}
            dims: dict[str, tuple[str, ...]] = {}
            for name, item in where.items():
                if isinstance(item, h5py.Dataset):
                    variables[str(name)] = Declared(
                        tuple(int(n) for n in item.shape), _dtype(item.dtype)
                    )
                    dims[str(name)] = (str(name),) if item.ndim == 1 else ()
        return variables, dims
    except Exception:  # noqa: BLE001 - not HDF5 either: opening will say what is wrong
        return None


@dataclass(frozen=True)
class RawVariable:
    """One variable of a NetCDF file as stored: dimension names, values and attributes."""

    dims: tuple[str, ...]
    values: np.ndarray
    attrs: dict[str, Any]


def read_raw_variables(
    path: Path, names: list[str], global_attrs: dict[str, Any] | None = None
) -> dict[str, RawVariable] | None:
    """Read whole variables of a file's root group as stored, without xarray.

    The values are what :meth:`NetCDFReader.open` returns for them (no masking, scaling or
    CF decoding, native byte order), for callers that need every value of a few variables
    and none of a dataset's machinery. Returns None when the file cannot be read this way
    (not NetCDF/HDF5, damaged or truncated, a variable missing, or unsigned-integer packing,
    which the general reader handles), so the caller falls back to :meth:`NetCDFReader.open`.
    A *global_attrs* dictionary is filled with the root group's attributes.
    """
    try:
        if not head(path).startswith(MAGIC) or _truncated(path):
            return None
        out: dict[str, RawVariable] = {}
        with _READ_LOCK, netCDF4.Dataset(path, "r") as nc:
            if global_attrs is not None:
                global_attrs.update({str(k): nc.getncattr(k) for k in nc.ncattrs()})
            for name in names:
                if name not in nc.variables:
                    return None
                var = nc.variables[name]
                attrs = {str(k): var.getncattr(k) for k in var.ncattrs()}
                if "_Unsigned" in attrs or var.dtype.kind not in "iuf":
                    return None
                var.set_auto_maskandscale(False)
                values = np.asarray(var[...])
                if not values.dtype.isnative:
                    values = values.astype(values.dtype.newbyteorder("="))
                out[name] = RawVariable(tuple(str(d) for d in var.dimensions), values, attrs)
        return out
    except Exception:  # noqa: BLE001 - any failure: the general reader reports it its own way
        return None
