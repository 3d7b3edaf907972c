"""The series-shaped copy of a cube: the same values, chunked for time series at a point.

Maps and time series want opposite chunk shapes (see :mod:`spaceclimate.store.cube`). The
cube's own arrays are map-shaped; at publish time the store also writes, inside the same
staged cube, a child group holding every gridded variable that has a time axis again, chunked
long in time and small in space::

    <cube>/series/zarr.json        group; attribute "sco_series_layout" describes the chunks
    <cube>/series/<variable>       chunks of (T, 16, 16): T time steps of a 16 x 16 cell block,
                                   stored in shards of (T, 256, 256) (one file per shard)

T is up to :data:`MAX_SERIES_TIME_CHUNK` steps (256: a 20-year daily record is 29 chunks),
fewer when one block of T steps of every variable would pass :data:`SERIES_BLOCK_BYTES` (the
store writes the copy T steps at a time), and always a multiple of the cube's own time chunk.
A point series over the full record then reads ``ceil(steps / T)`` chunks of ``T x 16 x 16``
values rather than every map-shaped chunk holding the point. The group also holds the time,
latitude/longitude (or y/x) coordinates and their bounds, so it opens on its own with
``xr.open_zarr(cube, group="series")``. Being inside the staged cube, the copy is covered by
the cube's checksums and published atomically with it; ``xr.open_zarr(cube)`` shows only the
root group's variables, as before.

:class:`SeriesReader` reads a point's series straight from the shard files (the shard index,
then one inner chunk a shard, decoded with Blosc), which is what makes an EDR position query
over a 20-year daily record cost milliseconds. Arrays of any other layout are read with zarr.
On local disk it reads with ``pread``; from an object store
(:class:`~spaceclimate.store.remote.ObjectPath`), with byte-range requests for the same
bytes (a shard's index once, then one range an inner chunk).
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask.array
import numpy as np
import xarray as xr
import zarr
from numcodecs import Blosc, blosc
from xarray.backends import BackendArray
from xarray.core import indexing
from zarr.storage import MemoryStore

from spaceclimate.store.folders import Folders
from spaceclimate.store.remote import CubeLocation, ObjectPath, zarr_location
from spaceclimate.store.shards import MISSING, encode_shard
from spaceclimate.store.written import WrittenFiles

SERIES_GROUP = "series"
LAYOUT_ATTR = "sco_series_layout"
SERIES_SPATIAL_CHUNK = 16
SERIES_SHARD_SPATIAL = 256
MAX_SERIES_TIME_CHUNK = 256
SERIES_BLOCK_BYTES = 1024**3
GRID_DIMS = (("lat", "lon"), ("y", "x"))
#: Shard index entries cached per reader (each is a small array; cubes are immutable).
INDEX_CACHE_SIZE = 4096
_MISSING = np.uint64(MISSING)
#: Chunks from which a point read is shared between the reading threads.
PARALLEL_READS = 8
#: The threads reading series chunks (shared by every reader of the process).
_POOL = ThreadPoolExecutor(2, thread_name_prefix="series-read")


def series_variables(ds: xr.Dataset) -> list[str]:
    """Return the data variables that get a series copy: float, dims (time, row, column)."""
    grids = [("time", rows, cols) for rows, cols in GRID_DIMS]
    return [
        str(name)
        for name, var in ds.data_vars.items()
        if var.dtype.kind == "f" and tuple(var.dims) in grids
    ]


def series_time_chunk(step_bytes: int, cube_time_chunk: int) -> int:
    """Return T: up to 256 steps, a block of T steps within the byte budget, a multiple of
    the cube's own time chunk (never less than one of those)."""
    steps = MAX_SERIES_TIME_CHUNK
    if step_bytes > 0:
        steps = min(steps, SERIES_BLOCK_BYTES // step_bytes)
    chunk = max(1, cube_time_chunk)
    return int(max(chunk, (steps // chunk) * chunk))


def series_shapes(ds: xr.Dataset, time_chunk: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Return ``(chunks, shards)`` of the series copy of *ds* (dims time, row, column)."""
    rows, cols = (int(n) for n in list(ds[series_variables(ds)[0]].shape)[1:])
    chunks = (time_chunk, min(SERIES_SPATIAL_CHUNK, rows), min(SERIES_SPATIAL_CHUNK, cols))
    shards = (
        time_chunk,
        -(-min(SERIES_SHARD_SPATIAL, rows) // chunks[1]) * chunks[1],
        -(-min(SERIES_SHARD_SPATIAL, cols) // chunks[2]) * chunks[2],
    )
    return chunks, shards


def layout_attrs(names: list[str], time_chunk: int) -> dict[str, Any]:
    """Return the group attribute describing the copy of *names* (for readers and people)."""
    return {
        LAYOUT_ATTR: {
            "variables": list(names),
            "time_chunk": int(time_chunk),
            "spatial_chunk": SERIES_SPATIAL_CHUNK,
            "shard_spatial": SERIES_SHARD_SPATIAL,
        }
    }


def has_series(cube: CubeLocation) -> bool:
    """Whether a published cube holds a series copy."""
    return (cube / SERIES_GROUP / "zarr.json").is_file()


def open_series(cube: CubeLocation, dask: bool = True) -> xr.Dataset:
    """Open a cube's series copy lazily: with dask (like the cube itself), or without
    (``dask=False``: indexing reads straight from Zarr, for code that reads in blocks)."""
    if dask:
        return xr.open_zarr(cube, group=SERIES_GROUP, consolidated=True, zarr_format=3)
    ds = xr.open_dataset(
        cube, engine="zarr", group=SERIES_GROUP, chunks=None, consolidated=True, zarr_format=3
    )
    reader = series_reader(cube)
    if reader is None:
        return ds
    for name in list(ds.data_vars):
        var = ds.variables[name]
        if reader.readable(str(name)) and var.dims[0] == "time":
            array = _SeriesArray(reader, str(name), tuple(var.shape), var.dtype)
            lazy = xr.Variable(var.dims, indexing.LazilyIndexedArray(array), var.attrs)
            lazy.encoding = dict(var.encoding)
            ds[name] = lazy
    return ds


class _SeriesArray(BackendArray):
    """A series-copy variable read by :class:`SeriesReader` (for lazy, non-dask datasets)."""

    def __init__(self, reader: SeriesReader, name: str, shape: tuple[int, ...], dtype: Any):
        self.reader, self.name, self.shape, self.dtype = reader, name, shape, np.dtype(dtype)

    def __getitem__(self, key: indexing.ExplicitIndexer) -> np.ndarray:
        return indexing.explicit_indexing_adapter(  # type: ignore[no-any-return]
            key, self.shape, indexing.IndexingSupport.BASIC, self._read
        )

    def _read(self, key: tuple[Any, ...]) -> np.ndarray:
        bounds: list[tuple[int, int]] = []
        picks: list[Any] = []
        for k, size in zip(key, self.shape, strict=True):
            if isinstance(k, slice):
                start, stop, step = k.indices(size)
                bounds.append((start, max(start, stop)))
                picks.append(slice(None, None, step) if step != 1 else slice(None))
            else:
                index = int(k) % size if size else int(k)
                bounds.append((index, index + 1))
                picks.append(0)
        values = self.reader.read_window(self.name, bounds)
        return values[tuple(picks)]


# -- writing ----------------------------------------------------------------------------------
class SeriesWriter:
    """Write a cube's series copy block by block, encoding the shards directly.

    Each block holds whole shards along time (its first step a multiple of the time chunk;
    only the last block may be short). Inner chunks are Blosc-encoded in two threads and laid
    out as zarr's ``sharding_indexed`` codec does (inner chunks, then the index of offsets and
    sizes with its CRC-32C); chunks holding only missing values are not stored, and neither is
    a shard holding only those. :meth:`finish` writes the metadata and coordinates, generated
    by xarray and zarr for the final shape, so the group is a plain Zarr v3 group.
    """

    def __init__(
        self,
        cube: Path,
        template: xr.Dataset,
        time_chunk: int,
        codec: Blosc,
        written: WrittenFiles,
    ) -> None:
        self.root = cube / SERIES_GROUP
        self.written = written
        self.names = series_variables(template)
        self.time_chunk = time_chunk
        self.codec = codec
        self.chunks, self.shards = series_shapes(template, time_chunk)
        self.steps = 0
        self._times: dict[str, list[np.ndarray]] = {"time": [], "time_bnds": []}
        self._template = template.isel(time=slice(0, 1))
        self._folders = Folders()

    def append(self, block: xr.Dataset) -> None:
        """Encode and write the shards of a block of time steps."""
        n = int(block.sizes["time"])
        if self.steps % self.time_chunk:
            raise ValueError("series copy: only the last block may end inside a time chunk")
        if self.steps == 0 and n < self.time_chunk:  # the whole record is shorter than a chunk
            self.time_chunk = n
            self.chunks = (n, *self.chunks[1:])
            self.shards = (n, *self.shards[1:])
        jobs = []
        for name in self.names:
            values = np.asarray(block[name].values)
            for t in range(0, n, self.time_chunk):
                part = values[t : t + self.time_chunk]
                k = (self.steps + t) // self.time_chunk
                for i in range(0, values.shape[1], self.shards[1]):
                    for j in range(0, values.shape[2], self.shards[2]):
                        jobs.append((name, part, k, i, j))
        with ThreadPoolExecutor(2, thread_name_prefix="series") as pool:
            list(pool.map(lambda job: self._write_shard(*job), jobs))
        for coord, parts in self._times.items():
            if coord in block.variables:
                parts.append(np.asarray(block[coord].values))
        self.steps += n

    def _write_shard(self, name: str, values: np.ndarray, k: int, i: int, j: int) -> None:
        sr, sc = self.shards[1:]
        inner = (self.time_chunk, *self.chunks[1:])
        shard = (self.time_chunk, sr, sc)
        parts = encode_shard(values[:, i : i + sr, j : j + sc], inner, shard, self.codec)
        if parts is None:
            return
        path = self.root / name / "c" / str(k) / str(i // sr) / str(j // sc)
        self._folders.ensure(path.parent)
        self.written.write(path, parts)

    def finish(self, compressor: Any, time_encoding: dict[str, Any]) -> None:
        """Write the group's and arrays' metadata and the coordinates, for the final shape."""
        tpl = self._template
        data = {}
        for name in self.names:
            shape = (self.steps, *tpl[name].shape[1:])
            lazy = dask.array.empty(shape, dtype=tpl[name].dtype, chunks=self.shards)
            data[name] = (tpl[name].dims, lazy, tpl[name].attrs)
        keep = ("lat", "lon", "y", "x", "lat_bnds", "lon_bnds", "y_bnds", "x_bnds")
        coords: dict[str, Any] = {
            str(c): tpl[c].variable for c in tpl.coords if c in keep and "time" not in tpl[c].dims
        }
        for name, parts in self._times.items():
            if parts:
                coords[name] = (tpl[name].dims, np.concatenate(parts), tpl[name].attrs)
        ds = xr.Dataset(data, coords=coords)
        chunks = self.time_chunk
        encoding: dict[str, dict[str, Any]] = {
            name: {
                "chunks": (chunks, *self.chunks[1:]),
                "shards": (chunks, *self.shards[1:]),
                "compressors": compressor,
                "_FillValue": np.float32(np.nan) if tpl[name].dtype == np.float32 else np.nan,
            }
            for name in self.names
        }
        encoding["time"] = dict(time_encoding)
        if "time_bnds" in ds.variables:
            encoding["time_bnds"] = dict(time_encoding)
        store: dict[str, Any] = {}
        ds.attrs = layout_attrs(self.names, chunks)
        ds.to_zarr(
            MemoryStore(store),
            mode="w",
            compute=False,
            zarr_format=3,
            consolidated=True,
            encoding=encoding,
        )
        for key, buffer in store.items():
            path = self.root / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(buffer.to_bytes())


# -- fast point reads ----------------------------------------------------------------------------
@dataclass(frozen=True)
class _ShardLayout:
    """What a reader needs of one sharded series array."""

    path: CubeLocation
    dims: tuple[str, ...]
    shape: tuple[int, ...]
    shard: tuple[int, ...]
    inner: tuple[int, ...]
    itemsize: int

    @property
    def inner_per_shard(self) -> tuple[int, ...]:
        return tuple(s // c for s, c in zip(self.shard, self.inner, strict=True))


def _shard_layout(path: CubeLocation) -> _ShardLayout | None:
    """Parse an array's metadata; None unless it is a sharded Blosc float array we can read."""
    try:
        meta = json.loads((path / "zarr.json").read_text(encoding="utf-8"))
        codecs = meta["codecs"]
        if len(codecs) != 1 or codecs[0]["name"] != "sharding_indexed":
            return None
        conf = codecs[0]["configuration"]
        inner_codecs = [c["name"] for c in conf["codecs"]]
        index_codecs = [c["name"] for c in conf["index_codecs"]]
        little = all(
            c.get("configuration", {}).get("endian", "little") == "little"
            for c in conf["codecs"] + conf["index_codecs"]
            if c["name"] == "bytes"
        )
        if (
            inner_codecs != ["bytes", "blosc"]
            or index_codecs != ["bytes", "crc32c"]
            or conf.get("index_location", "end") != "end"
            or not little
            or meta["data_type"] not in ("float32", "float64")
            or meta["chunk_key_encoding"]["name"] != "default"
            or meta["chunk_key_encoding"].get("configuration", {}).get("separator", "/") != "/"
        ):
            return None
        dims = tuple(meta.get("dimension_names") or ())
        return _ShardLayout(
            path,
            dims,
            tuple(meta["shape"]),
            tuple(meta["chunk_grid"]["configuration"]["chunk_shape"]),
            tuple(conf["chunk_shape"]),
            4 if meta["data_type"] == "float32" else 8,
        )
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None


class SeriesReader:
    """Read time series at single cells from a cube's series copy, fast and thread-safe."""

    def __init__(self, cube: CubeLocation) -> None:
        self.cube = cube
        self.root = cube / SERIES_GROUP
        self._layouts: dict[str, _ShardLayout | None] = {}
        self._indexes: OrderedDict[tuple[str, tuple[int, ...]], np.ndarray | None] = OrderedDict()
        self._lock = threading.Lock()

    def _layout(self, variable: str) -> _ShardLayout | None:
        with self._lock:
            if variable not in self._layouts:
                self._layouts[variable] = _shard_layout(self.root / variable)
            return self._layouts[variable]

    def _index(
        self, lay: _ShardLayout, key: tuple[int, ...], read_tail: Callable[[int], bytes]
    ) -> np.ndarray:
        """Return a shard's index (cached); *read_tail(n)* returns its last n bytes."""
        cache_key = (str(lay.path), key)
        with self._lock:
            found = self._indexes.get(cache_key)
            if found is not None:
                self._indexes.move_to_end(cache_key)
                return found
        count = int(np.prod(lay.inner_per_shard))
        nbytes = count * 16 + 4
        raw = read_tail(nbytes)
        index = np.frombuffer(raw[: count * 16], dtype="<u8").reshape(lay.inner_per_shard + (2,))
        with self._lock:
            self._indexes[cache_key] = index
            while len(self._indexes) > INDEX_CACHE_SIZE:
                self._indexes.popitem(last=False)
        return index

    def readable(self, variable: str) -> bool:
        """Whether *variable* has the layout this reader reads directly."""
        lay = self._layout(variable)
        return lay is not None and lay.dims[:1] == ("time",) and len(lay.dims) == 3

    def read_window(self, variable: str, bounds: list[tuple[int, int]]) -> np.ndarray:
        """Return the values of a (time, row, column) box, ``[(start, stop)]`` per dim.

        Reads every inner chunk the box touches once, decoding in two threads.
        """
        lay = self._layout(variable)
        if lay is None:
            array = zarr.open_array(zarr_location(self.root / variable), mode="r", zarr_format=3)
            return np.asarray(array[tuple(slice(a, b) for a, b in bounds)])
        dtype = np.dtype("<f4" if lay.itemsize == 4 else "<f8")
        out = np.full(tuple(b - a for a, b in bounds), np.nan, dtype=dtype)
        if out.size == 0:
            return out
        firsts = [range(a - a % c, b, c) for (a, b), c in zip(bounds, lay.inner, strict=True)]
        corners = [(t, r, c) for t in firsts[0] for r in firsts[1] for c in firsts[2]]

        def fill(corner: tuple[int, ...]) -> None:
            shard_key = tuple(p // s for p, s in zip(corner, lay.shard, strict=True))
            inner_key = tuple(
                (p % s) // c for p, s, c in zip(corner, lay.shard, lay.inner, strict=True)
            )
            block = self._read_inner(lay, shard_key, inner_key, dtype)
            if block is None:
                return
            src, dst = [], []
            for p, c, (a, b) in zip(corner, lay.inner, bounds, strict=True):
                lo, hi = max(a, p), min(b, p + c)
                src.append(slice(lo - p, hi - p))
                dst.append(slice(lo - a, hi - a))
            out[tuple(dst)] = block[tuple(src)]

        list(_POOL.map(fill, corners))
        return out

    def read_point(self, variable: str, cell: dict[str, int], start: int, stop: int) -> np.ndarray:
        """Return the values of *variable* at the cell ``{dim: index}`` for steps [start, stop).

        *cell* gives an index for every dimension except time.
        """
        lay = self._layout(variable)
        if lay is None or "time" not in lay.dims:
            return self._read_with_zarr(variable, cell, start, stop)
        tdim = lay.dims.index("time")
        dtype = np.dtype("<f4" if lay.itemsize == 4 else "<f8")
        out = np.full(stop - start, np.nan, dtype=dtype)
        inner_t = lay.inner[tdim]

        def fill(first: int) -> None:
            shard_key: list[int] = []
            inner_key: list[int] = []
            within: list[Any] = []
            for axis, dim in enumerate(lay.dims):
                pos = first if dim == "time" else int(cell[dim])
                shard_key.append(pos // lay.shard[axis])
                inner_key.append((pos % lay.shard[axis]) // lay.inner[axis])
                within.append(0 if dim == "time" else pos % lay.inner[axis])
            block = self._read_inner(lay, tuple(shard_key), tuple(inner_key), dtype)
            if block is None:
                return
            within[tdim] = slice(None)
            values = block[tuple(within)]
            lo, hi = max(start, first), min(stop, first + inner_t)
            out[lo - start : hi - start] = values[lo - first : hi - first]

        firsts = range(start - start % inner_t, stop, inner_t)
        if len(firsts) < PARALLEL_READS:
            for first in firsts:
                fill(first)
        else:  # decoding frees the GIL: two threads halve a long series' read
            list(_POOL.map(fill, firsts))
        return out

    def _read_inner(
        self,
        lay: _ShardLayout,
        shard_key: tuple[int, ...],
        inner_key: tuple[int, ...],
        dtype: np.dtype,
    ) -> np.ndarray | None:
        path = lay.path.joinpath("c", *(str(k) for k in shard_key))
        if isinstance(path, ObjectPath):
            return self._read_inner_object(lay, path, shard_key, inner_key, dtype)
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return None  # a shard never written holds only the fill value
        try:
            size = os.fstat(fd).st_size
            index = self._index(lay, shard_key, lambda n: os.pread(fd, n, size - n))
            offset, nbytes = index[inner_key]
            if offset == _MISSING:
                return None
            raw = os.pread(fd, int(nbytes), int(offset))
        finally:
            os.close(fd)
        return np.frombuffer(blosc.decompress(raw), dtype=dtype).reshape(lay.inner)

    def _read_inner_object(
        self,
        lay: _ShardLayout,
        shard: ObjectPath,
        shard_key: tuple[int, ...],
        inner_key: tuple[int, ...],
        dtype: np.dtype,
    ) -> np.ndarray | None:
        """:meth:`_read_inner` from an object store: byte ranges of the shard object."""
        try:
            index = self._index(lay, shard_key, lambda n: shard.read_range(-n))
        except FileNotFoundError:
            return None
        offset, nbytes = index[inner_key]
        if offset == _MISSING:
            return None
        raw = shard.read_range(int(offset), int(offset) + int(nbytes))
        return np.frombuffer(blosc.decompress(raw), dtype=dtype).reshape(lay.inner)

    def _read_with_zarr(
        self, variable: str, cell: dict[str, int], start: int, stop: int
    ) -> np.ndarray:
        array = zarr.open_array(zarr_location(self.root / variable), mode="r", zarr_format=3)
        dims = list(getattr(array.metadata, "dimension_names", None) or ())
        key = tuple(slice(start, stop) if d == "time" else int(cell[d]) for d in dims)
        return np.asarray(array[key])


_READERS: OrderedDict[str, SeriesReader] = OrderedDict()
_READERS_LOCK = threading.Lock()
READER_CACHE_SIZE = 64


def series_reader(cube: CubeLocation) -> SeriesReader | None:
    """Return the (cached) reader of a cube's series copy, or None when it has none."""
    key = str(cube)
    with _READERS_LOCK:
        found = _READERS.get(key)
        if found is not None:
            _READERS.move_to_end(key)
            return found
    if not has_series(cube):
        return None
    reader = SeriesReader(cube)
    with _READERS_LOCK:
        _READERS[key] = reader
        while len(_READERS) > READER_CACHE_SIZE:
            _READERS.popitem(last=False)
    return reader
