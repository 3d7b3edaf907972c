"""Blocks assembled in one or two reused buffers, checksums as written, the allocator setting."""

from __future__ import annotations

import platform
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr

from spaceclimate.ops.memory import keep_freed_memory
from spaceclimate.store import series as sr
from spaceclimate.store.blocks import BlockAssembler
from spaceclimate.store.cube import CubeStore
from spaceclimate.store.series import open_series
from spaceclimate.store.writer import BackgroundWriter, CubeWriter, write_cube

from .test_store_series import _grown_band, _same


def _small_chunks(monkeypatch: Any) -> None:
    from spaceclimate.store import writer

    # 16 steps a cube chunk, 32 a series chunk: blocks of 32 steps
    monkeypatch.setattr(writer, "TARGET_CHUNK_BYTES", 16 * 40 * 256 * 4)
    monkeypatch.setattr(sr, "MAX_SERIES_TIME_CHUNK", 32)


@pytest.mark.parametrize("buffers", [1, 2])
def test_files_of_uneven_lengths_stream_through_the_buffers(
    tmp_path: Path, monkeypatch: Any, buffers: int
) -> None:
    _small_chunks(monkeypatch)
    ds = _grown_band(101)
    lengths = [1, 3, 7, 30, 2, 33, 1, 24]  # files crossing block ends, a short last block
    assert sum(lengths) == 101
    starts = np.cumsum([0, *lengths[:-1]])
    files = [
        ds.isel(time=slice(a, a + n)).copy(deep=True) for a, n in zip(starts, lengths, strict=True)
    ]
    target = tmp_path / "cube.zarr"
    writer = CubeWriter(target, files[0])
    assert writer.block_steps == 32
    background = BackgroundWriter(writer)
    blocks = BlockAssembler(background, files[0], buffers)
    for part in files:
        blocks.add(part)
    blocks.close()
    background.close()
    writer.finish(None)
    assert blocks.buffers_allocated == buffers  # four blocks, the buffers used in turn
    main, copy = xr.open_zarr(target), open_series(target)
    for name in ("sst", "sst_anomaly"):
        assert _same(main[name].values, ds[name].values)
        assert _same(copy[name].values, ds[name].values)
    np.testing.assert_array_equal(main["time"].values, ds["time"].values)
    np.testing.assert_array_equal(main["time_bnds"].values, ds["time_bnds"].values)


def test_checksums_taken_as_written_equal_a_fresh_hash(tmp_path: Path, monkeypatch: Any) -> None:
    _small_chunks(monkeypatch)
    target = tmp_path / "store" / "cube.zarr"
    written = write_cube(_grown_band(40), target)
    store = CubeStore(tmp_path / "store")
    fresh = store.checksums(target)
    assert store.checksums(target, written) == fresh
    recorded = set(written.files)
    assert any(k.startswith("series/") for k in recorded)  # shards of the series copy
    assert any(k.startswith("sst/c/") for k in recorded)  # the cube's own chunks
    assert any(k.startswith("overviews/") for k in recorded)
    assert recorded < set(fresh)  # metadata and coordinates are hashed from disk
    changed = sorted(k for k in recorded if k.startswith("sst/c/"))[0]
    with (target / changed).open("ab") as fh:  # a file that changed after it was written
        fh.write(b"\0")
    again = store.checksums(target, written)
    assert again[changed] != fresh[changed]
    assert again == store.checksums(target)


def test_freed_memory_is_kept_where_the_c_library_allows() -> None:
    assert keep_freed_memory() == (platform.libc_ver()[0] == "glibc")
