"""Writing a cube block by block along time: its arrays, overviews and series copy in one pass.

A cube with a time axis is written in blocks of consecutive time steps, each held in memory
once and written three ways before the next is read: into the cube's own (map-shaped) arrays,
into every overview level (:mod:`spaceclimate.store.overviews`, coarsened from the block), and
into the series-shaped copy (:mod:`spaceclimate.store.series`). Memory is bounded by one block
whatever the record length, and every value is decoded from its source and encoded into each
layout exactly once (no read-back of what was just written).

A block is a whole number of the cube's time chunks and of the series copy's (so no chunk is
ever written twice); only the last block may be shorter. The overviews written here hold the
same values as :func:`~spaceclimate.store.overviews.write_overviews` writes from a finished
cube (coarsening works on whole time steps, so blocks do not change it), stored in shards of
one block of steps (:mod:`spaceclimate.store.shards`).
"""

from __future__ import annotations

import itertools
import math
import warnings
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

import dask.array
import numpy as np
import xarray as xr
import zarr
from numcodecs import Blosc
from zarr.codecs import BloscCodec

from spaceclimate.store import overviews as ov
from spaceclimate.store import series as sr
from spaceclimate.store.folders import Folders
from spaceclimate.store.shards import encode_chunk, encode_shard
from spaceclimate.store.written import WrittenFiles

SPATIAL_CHUNK = 256
TARGET_CHUNK_BYTES = 4 * 1024 * 1024
#: Inner chunks an overview shard holds along each spatial dimension (at most).
OVERVIEW_SHARD_CHUNKS = 4
SPATIAL_DIMS = ("lat", "lon", "y", "x")
#: Codec of the gridded arrays: Blosc LZ4 with byte shuffle encodes float32 at about 1 GB/s
#: and decodes at twice that on one core (Zstandard, zarr's default: 0.25 and 0.5 GB/s).
COMPRESSOR = BloscCodec(cname="lz4", clevel=5, shuffle="shuffle")
#: The same codec, applied directly by the series copy's shard writer.
SERIES_CODEC = Blosc(cname="lz4", clevel=5, shuffle=Blosc.SHUFFLE)
TIME_ENCODING = {
    "units": "seconds since 1970-01-01 00:00:00",
    "calendar": "proleptic_gregorian",
    "dtype": "float64",
}


def plan_chunks(da: xr.DataArray | xr.Variable, time_steps: int | None = None) -> tuple[int, ...]:
    """Return the chunk shape of *da* (see :mod:`spaceclimate.store.cube` for the rule).

    *time_steps* overrides the length of the time axis (None: the array's own).
    """
    shape = {str(d): int(n) for d, n in da.sizes.items()}
    if time_steps is not None and "time" in shape:
        shape["time"] = time_steps
    chunks: dict[str, int] = {}
    spatial_cells = 1
    for dim, size in shape.items():
        if dim in SPATIAL_DIMS:
            chunks[dim] = min(size, SPATIAL_CHUNK)
            spatial_cells *= chunks[dim]
        elif dim != "time":
            chunks[dim] = size
            spatial_cells *= size
    if "time" in shape:
        per_step = max(1, spatial_cells * da.dtype.itemsize)
        chunks["time"] = int(max(1, min(shape["time"], TARGET_CHUNK_BYTES // per_step)))
    return tuple(chunks[str(d)] for d in da.dims)


def _fill(var: xr.Variable | xr.DataArray) -> dict[str, Any]:
    if var.dtype.kind != "f":
        return {}
    return {"_FillValue": np.float32(np.nan) if var.dtype == np.float32 else np.nan}


def cube_encoding(ds: xr.Dataset) -> dict[str, dict[str, Any]]:
    """Return the to_zarr encoding of a cube's root arrays: chunks, codec, fill, time units."""
    encoding: dict[str, dict[str, Any]] = {}
    for name, var in ds.variables.items():
        enc: dict[str, Any] = {}
        if name in ds.data_vars or (var.ndim >= 2 and var.dtype.kind == "f"):
            enc["chunks"] = plan_chunks(var)
            if var.dtype.kind == "f":
                enc["compressors"] = COMPRESSOR
        enc.update(_fill(var))
        if name in ("time", "time_bnds"):
            enc.update(TIME_ENCODING)
        if enc:
            encoding[str(name)] = enc
    return encoding


def clean_for_zarr(ds: xr.Dataset) -> xr.Dataset:
    """Return *ds* ready for Zarr v3: no inherited encodings, strings as variable-length."""
    clean = ds.copy()
    for name in list(clean.variables):
        if clean[name].dtype.kind == "U":  # Zarr v3's registered variable-length "string"
            clean[name] = clean[name].astype(object)
        clean[name].encoding = {}
    return clean


def _write_piece(
    folder: Path,
    values: np.ndarray,
    chunks: tuple[int, ...],
    shards: tuple[int, ...],
    corner: tuple[int, ...],
    steps: int,
    folders: Folders,
    written: WrittenFiles,
) -> None:
    """Encode and write the chunk (*shards* equal to *chunks*) or the shard of *values* at
    *corner*, a block starting at time step *steps* (a multiple of the shard's length in
    time); a piece holding only NaN is not written."""
    window = values[tuple(slice(c, c + n) for c, n in zip(corner, shards, strict=True))]
    if shards == chunks:
        encoded = encode_chunk(window, chunks, SERIES_CODEC)
        parts = None if encoded is None else [encoded]
    else:
        parts = encode_shard(window, chunks, shards, SERIES_CODEC)
    if parts is None:
        return
    index = [
        (corner[0] + steps) // shards[0],
        *(c // n for c, n in zip(corner[1:], shards[1:], strict=True)),
    ]
    path = folder.joinpath("c", *(str(i) for i in index))
    folders.ensure(path.parent)
    written.write(path, parts)


def _time_part(ds: xr.Dataset) -> xr.Dataset:
    """The variables of a block that grow with time (what an append writes)."""
    names = [str(n) for n, v in ds.data_vars.items() if "time" in v.dims]
    timed = {str(c): ds[c].variable for c in ds.coords if "time" in ds[c].dims}
    out = ds[names]
    out = out.drop_vars([c for c in out.coords if str(c) not in timed])
    return out.assign_coords(timed)


def _to_zarr(ds: xr.Dataset, target: Path, group: str | None, **kwargs: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        warnings.simplefilter("ignore", category=RuntimeWarning)
        ds.to_zarr(target, group=group, zarr_format=3, consolidated=False, **kwargs)


class CubeWriter:
    """Write one cube at *target* from consecutive blocks of time steps.

    Parameters
    ----------
    target
        The (not yet existing) cube folder.
    template
        Any block of the cube (its variables, grid and dtypes set the layout).

    Call :meth:`append` with blocks of :attr:`block_steps` steps (the last may be shorter),
    then :meth:`finish` with the cube's global attributes.
    """

    def __init__(self, target: Path, template: xr.Dataset) -> None:
        self.target = target
        self.steps = 0
        self._folders = Folders()
        #: The chunk files written so far, with their checksums (see :mod:`.written`).
        self.written = WrittenFiles(target)
        self._short = False
        timed = [v for v in template.data_vars.values() if "time" in v.dims]
        chunks = [dict(zip(v.dims, plan_chunks(v, 2**62), strict=True))["time"] for v in timed]
        cube_chunk = math.lcm(*chunks) if chunks else 1
        step_bytes = sum(
            int(template[n].isel(time=0).size) * template[n].dtype.itemsize
            for n in sr.series_variables(template)
        )
        self.series_chunk = sr.series_time_chunk(step_bytes, cube_chunk)
        #: Steps a block holds: a whole number of both layouts' time chunks.
        self.block_steps = math.lcm(cube_chunk, self.series_chunk)
        self.grid = ov.grid_dims(template)
        gridded_float = self.grid is not None and any(
            self.grid[0] in v.dims and self.grid[1] in v.dims and v.dtype.kind == "f"
            for v in template.data_vars.values()
        )
        self.factors: list[int] = []
        if self.grid is not None and gridded_float:
            rows, cols = self.grid
            self.factors = ov.overview_factors(template.sizes[rows], template.sizes[cols])
        self._chunks: dict[str, dict[str, Any]] = {}
        #: The overview levels' arrays of a block, reused by every block (see _MeanBuffers).
        self._scratch = _MeanBuffers()
        self._level_chunks: dict[str, dict[str, dict[str, Any]]] = {}
        self.series: sr.SeriesWriter | None = None
        if sr.series_variables(template):
            self.series = sr.SeriesWriter(
                target, template, self.series_chunk, SERIES_CODEC, self.written
            )

    def append(self, block: xr.Dataset) -> None:
        """Write the next block of time steps (held in memory) to every layout."""
        if self._short:
            raise ValueError("only the last block of a cube may be shorter than block_steps")
        n = int(block.sizes["time"])
        if n == 0:
            return
        if n % self.block_steps:
            self._short = True
        block = clean_for_zarr(block)
        first = self.steps == 0
        if first:
            self._chunks = cube_encoding(block)
        self._write_group(block, None, self._chunks if first else None)
        with ThreadPoolExecutor(1, thread_name_prefix="series-copy") as side:
            # the series copy (its own files under the cube's folder, created above; no zarr
            # metadata until finish) is encoded while the overviews are computed and written
            series = side.submit(self.series.append, block) if self.series is not None else None
            try:
                self._write_overviews(block, first)
            except BaseException:
                if series is not None:
                    wait([series])  # (its own error, if any, is secondary)
                raise
            if series is not None:
                series.result()
        self.steps += n

    def _write_overviews(self, block: xr.Dataset, first: bool) -> None:
        if not self.factors or self.grid is None:
            return
        levels = _coarsened_levels(block, self.grid, self.factors, self._scratch)
        for level, coarse in enumerate(levels, start=1):
            group = f"{ov.OVERVIEWS_GROUP}/{level}"
            enc = None
            if first:
                enc = ov._encoding(coarse, self.grid)  # noqa: SLF001 - the same layout as there
                for name in coarse.data_vars:
                    enc[str(name)]["compressors"] = COMPRESSOR
                    if coarse[name].dims[:1] == ("time",) and coarse[name].dtype.kind == "f":
                        enc[str(name)]["shards"] = self._overview_shards(
                            coarse[name], enc[str(name)]["chunks"]
                        )
                self._level_chunks[group] = enc
            self._write_group(coarse, group, enc)

    def _overview_shards(self, var: xr.DataArray, chunks: tuple[int, ...]) -> tuple[int, ...]:
        """Shards of an overview array: a block of time steps, up to 4 x 4 inner chunks.

        Overview chunks hold one time step each; stored one file a chunk, a year of daily
        0.25 degree data made some 2,000 files in 1,500 folders (creating them cost more
        than encoding them). A shard file holds a block of steps instead."""
        shard = [self.block_steps]
        for dim, chunk in zip(var.dims[1:], chunks[1:], strict=True):
            shard.append(chunk * min(-(-var.sizes[dim] // chunk), OVERVIEW_SHARD_CHUNKS))
        return tuple(shard)

    def _write_group(
        self, block: xr.Dataset, group: str | None, encoding: dict[str, dict[str, Any]] | None
    ) -> None:
        """Write a block into one group: metadata and coordinates by xarray (creating the
        arrays for the first block, growing them after), data chunks encoded directly."""
        known = encoding if encoding is not None else self._level_chunks.get(group or "", {})
        if group is None:
            known = self._chunks
        direct = [
            str(n)
            for n, v in block.data_vars.items()
            if v.dims[:1] == ("time",)
            and v.dtype.kind == "f"
            and known.get(str(n), {}).get("compressors") is COMPRESSOR
        ]
        shell = block.copy()
        for name in direct:
            var = block[name]
            chunks = known[name].get("shards", known[name]["chunks"])
            lazy = dask.array.zeros(var.shape, dtype=var.dtype, chunks=chunks)
            shell[name] = xr.Variable(var.dims, lazy, var.attrs)
        if encoding is not None:
            _to_zarr(shell, self.target, group, mode="w-", encoding=encoding, compute=False)
        else:
            _to_zarr(
                _time_part(shell), self.target, group, mode="a", append_dim="time", compute=False
            )
        folder = self.target if group is None else self.target / group
        jobs: list[tuple[Path, np.ndarray, tuple[int, ...], tuple[int, ...], tuple[int, ...]]]
        jobs = []
        for name in direct:
            values = np.asarray(block[name].values)
            chunks = tuple(int(c) for c in known[name]["chunks"])
            shards = tuple(int(c) for c in known[name].get("shards", chunks))
            starts = [range(0, n, c) for n, c in zip(values.shape, shards, strict=True)]
            for corner in itertools.product(*starts):
                jobs.append((folder / name, values, chunks, shards, tuple(corner)))
        offset = self.steps

        def write(
            job: tuple[Path, np.ndarray, tuple[int, ...], tuple[int, ...], tuple[int, ...]],
        ) -> None:
            path, values, chunks, shards, corner = job
            _write_piece(path, values, chunks, shards, corner, offset, self._folders, self.written)

        with ThreadPoolExecutor(2, thread_name_prefix="cube-write") as pool:
            list(pool.map(write, jobs))

    def finish(self, attrs: dict[str, Any] | None = None) -> None:
        """Write the global attributes and the layouts' descriptions; consolidate metadata."""
        root = str(self.target)
        if attrs is not None:
            replace_attrs(self.target, attrs)
        if self.factors and self.grid is not None:
            levels = []
            for level, factor in enumerate(self.factors, start=1):
                path = f"{ov.OVERVIEWS_GROUP}/{level}"
                zarr.consolidate_metadata(root, path=path)
                level_group = zarr.open_group(root, path=path, mode="r", zarr_format=3)
                sizes = {d: int(level_group[d].shape[0]) for d in self.grid}  # type: ignore[union-attr]
                levels.append(ov.OverviewLevel(level, factor, sizes))
            group = zarr.open_group(root, path=ov.OVERVIEWS_GROUP, mode="r+", zarr_format=3)
            group.attrs.update(
                {
                    ov.LEVELS_ATTR: [lv.to_json() for lv in levels],
                    "sco_overview_dims": list(self.grid),
                }
            )
        if self.series is not None:
            self.series.finish(COMPRESSOR, TIME_ENCODING)
            zarr.consolidate_metadata(root, path=sr.SERIES_GROUP)
        zarr.consolidate_metadata(root)


def _pair_sums(values: np.ndarray) -> np.ndarray:
    """Sum 2 x 2 blocks over the last two axes (a missing last row or column counts as 0)."""
    rows, cols = values.shape[-2:]
    if cols % 2:
        values = np.concatenate([values, np.zeros_like(values[..., :1])], axis=-1)
    pairs = values[..., 0::2] + values[..., 1::2]
    if rows % 2:
        pairs = np.concatenate([pairs, np.zeros_like(pairs[..., :1, :])], axis=-2)
    return pairs[..., 0::2, :] + pairs[..., 1::2, :]


def block_means(
    values: np.ndarray,
    levels: int,
    steps: int = 1,
    buffers: _MeanBuffers | None = None,
    name: str = "",
) -> list[np.ndarray]:
    """Return the mean of the valid cells of 2**k x 2**k blocks of the last two axes.

    For k = 1 .. *levels*, NaN where a block has no valid cell; blocks at the far edges cover
    only the cells that remain. Sums and counts are carried from one level to the next
    (float64 sums for float64 data, float32 otherwise: at most 4**k terms, well within the
    precision of the result; integer counts), *steps* leading indices at a time (scratch
    memory of a few maps, reused by the allocator rather than fresh pages every time), so
    each level costs a quarter of the one before. With *buffers*, the results are views of
    the arrays kept there for variable *name* (overwritten by the next call for the same
    name).
    """
    lead = values.shape[:-2]
    flat = values.reshape(-1, *values.shape[-2:])
    out: list[np.ndarray] = []
    rows, cols = values.shape[-2:]
    for _level in range(levels):
        rows, cols = -(-rows // 2), -(-cols // 2)
        shape = (flat.shape[0], rows, cols)
        if buffers is None:
            out.append(np.empty(shape, dtype=values.dtype))
        else:
            out.append(buffers.take(name, len(out), shape, values.dtype))
    work = np.float64 if values.dtype == np.float64 else np.float32
    # counts of valid cells in the smallest integer type that holds 4**levels (a quarter of
    # the memory traffic of float counts: the whole pass ran 3.3 times faster)
    count_type = np.uint8 if 4**levels <= np.iinfo(np.uint8).max else np.uint32
    for start in range(0, flat.shape[0], steps):
        part = flat[start : start + steps]
        missing = np.isnan(part)
        sums = np.where(missing, work(0), part).astype(work, copy=False)
        counts = (~missing).view(np.uint8).astype(count_type, copy=False)
        for k in range(levels):
            sums, counts = _pair_sums(sums), _pair_sums(counts)
            with np.errstate(invalid="ignore", divide="ignore"):
                np.divide(sums, counts, out=out[k][start : start + steps], casting="unsafe")
    return [o.reshape(*lead, *o.shape[-2:]) for o in out]


class BackgroundWriter:
    """Append blocks to a :class:`CubeWriter` in a thread, one block at a time.

    :meth:`submit` returns as soon as the block is handed over (after the previous block is
    written), so the caller prepares the next block while this one is encoded; at most one
    block is being written and one prepared. :meth:`close` waits for the last block and
    raises what any write raised; it must be called (also on errors, before the cube's
    folder is removed) so that no write outlives the ingest.
    """

    def __init__(self, writer: CubeWriter) -> None:
        self.writer = writer
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="cube-append")
        self._pending: Future[None] | None = None

    @property
    def block_steps(self) -> int:
        """Steps a full block holds (see :attr:`CubeWriter.block_steps`)."""
        return self.writer.block_steps

    def submit(self, block: xr.Dataset) -> None:
        """Wait for the previous block, then start writing *block*."""
        self.wait()
        self._pending = self._pool.submit(self.writer.append, block)

    def wait(self) -> None:
        """Wait for the block being written, if any (raising its error)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def close(self) -> None:
        """Wait for the block being written (raising its error), then stop the thread."""
        try:
            self.wait()
        finally:
            self._pool.shutdown(wait=True)


class _MeanBuffers:
    """Arrays for the overview levels of a block's variables, kept from block to block.

    A block's overviews are written before the next block's are computed, so each level of
    each variable reuses one array (a shorter last block uses the front of it): the memory is
    touched once per ingest, not once per block (see :mod:`spaceclimate.store.blocks`).
    """

    def __init__(self) -> None:
        self._arrays: dict[tuple[str, int], np.ndarray] = {}

    def take(
        self, name: str, level: int, shape: tuple[int, ...], dtype: np.dtype[Any]
    ) -> np.ndarray:
        """An array of *shape* for *level* of variable *name*."""
        key = (name, level)
        have = self._arrays.get(key)
        if (
            have is None
            or have.dtype != dtype
            or have.shape[1:] != shape[1:]
            or have.shape[0] < shape[0]
        ):
            have = self._arrays[key] = np.empty(shape, dtype=dtype)
        return have[: shape[0]]


def _coarsened_levels(
    block: xr.Dataset,
    grid: tuple[str, str],
    factors: list[int],
    buffers: _MeanBuffers | None = None,
) -> list[xr.Dataset]:
    """Return the overview levels of a block (as :func:`overviews.coarsen_dataset` would).

    Continuous variables whose last two dims are the grid go through :func:`block_means`
    (every level in one pass); others (categorical ones) through ``coarsen_dataset``.
    """
    fast = [
        str(n)
        for n, v in block.data_vars.items()
        if v.dtype.kind == "f" and tuple(v.dims[-2:]) == grid and "flag_values" not in v.attrs
    ]
    rest = block.drop_vars(fast)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        levels = [ov.coarsen_dataset(rest, grid, factor) for factor in factors]
    means = {
        name: block_means(np.asarray(block[name].values), len(factors), 1, buffers, name)
        for name in fast
    }
    out = []
    for k, coarse in enumerate(levels):
        for name in fast:
            source = block[name]
            coarse[name] = (source.dims, means[name][k], dict(source.attrs))
        for var in coarse.variables.values():
            var.encoding = {}
        out.append(coarse)
    return out


def replace_attrs(cube: Path, attrs: dict[str, Any]) -> None:
    """Replace a cube's global attributes, keeping xarray's own ``coordinates`` entry."""
    group = zarr.open_group(str(cube), mode="r+", zarr_format=3)
    kept = {k: v for k, v in group.attrs.asdict().items() if k == "coordinates"}
    group.attrs.put({**jsonable(attrs), **kept})


def jsonable(value: Any) -> Any:
    """Return attribute values as plain JSON types (numpy scalars and arrays converted)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value


def write_cube(ds: xr.Dataset, target: Path) -> WrittenFiles:
    """Write a whole dataset (in memory or lazy) as a cube, block by block along time.

    Returns the chunk files written, with their checksums."""
    writer = CubeWriter(target, ds)
    total = int(ds.sizes["time"])
    for start in range(0, total, writer.block_steps):
        writer.append(ds.isel(time=slice(start, start + writer.block_steps)).load())
    writer.finish(None)
    return writer.written
