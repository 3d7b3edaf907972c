"""Shards encoded by the writers read back with zarr, and the overviews are written as shards."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import zarr
from numcodecs import Blosc
from zarr.codecs import BloscCodec

from spaceclimate.store.shards import encode_shard
from spaceclimate.store.writer import write_cube

from .test_store_series import _grown_band

CODEC = Blosc(cname="lz4", clevel=5, shuffle=Blosc.SHUFFLE)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_encoded_shards_read_back_with_zarr(tmp_path: Path, dtype: str) -> None:
    rng = np.random.default_rng(7)
    shape, chunks, shards = (10, 37, 50), (2, 8, 16), (4, 16, 32)
    values = rng.normal(280, 5, shape).astype(dtype)
    values[:, :16, :] = np.nan  # the first row of shards holds only NaN: not stored
    values[0:2, 16:24, 0:16] = np.nan  # one inner chunk of NaN in a stored shard
    values[5, 20, 20] = np.nan
    root = tmp_path / "a.zarr"
    array = zarr.create_array(
        str(root),
        shape=shape,
        chunks=chunks,
        shards=shards,
        dtype=dtype,
        fill_value=np.nan,
        compressors=BloscCodec(cname="lz4", clevel=5, shuffle="shuffle"),
        zarr_format=3,
    )
    for t in range(0, shape[0], shards[0]):  # the last shards are short: edges padded
        for i in range(0, shape[1], shards[1]):
            for j in range(0, shape[2], shards[2]):
                window = values[t : t + shards[0], i : i + shards[1], j : j + shards[2]]
                parts = encode_shard(window, chunks, shards, CODEC)
                key = root / "c" / str(t // shards[0]) / str(i // shards[1]) / str(j // shards[2])
                if parts is None:
                    assert np.isnan(window).all()
                    continue
                key.parent.mkdir(parents=True, exist_ok=True)
                key.write_bytes(b"".join(parts))
    np.testing.assert_array_equal(array[...], values)
    assert not (root / "c" / "0" / "0" / "0").exists()
    shard = (root / "c" / "0" / "1" / "0").read_bytes()
    index = np.frombuffer(shard[-(2 * 2 * 2 * 16 + 4) : -4], dtype="<u8").reshape(2, 2, 2, 2)
    assert (index[0, 0, 0] == 2**64 - 1).all()  # the NaN inner chunk
    assert (index.reshape(-1, 2)[1:] != 2**64 - 1).all()  # every other one is stored


def test_overviews_are_sharded_by_block_and_equal_the_block_means(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from spaceclimate.store import series, writer

    # 16 steps a cube chunk, 32 a series chunk: blocks of 32 steps, a short last one
    monkeypatch.setattr(writer, "TARGET_CHUNK_BYTES", 16 * 40 * 256 * 4)
    monkeypatch.setattr(series, "MAX_SERIES_TIME_CHUNK", 32)
    ds = _grown_band(70)  # 40 x 1440 cells: overview level 1 is 20 x 720
    written = write_cube(ds, tmp_path / "cube.zarr")
    level = tmp_path / "cube.zarr" / "overviews" / "1"
    meta = json.loads((level / "sst" / "zarr.json").read_text())
    codec = meta["codecs"][0]
    assert codec["name"] == "sharding_indexed"
    assert codec["configuration"]["chunk_shape"] == [1, 20, 512]  # one step a chunk
    assert meta["chunk_grid"]["configuration"]["chunk_shape"] == [32, 20, 1024]  # a block a file
    files = sorted(k for k in written.files if k.startswith("overviews/1/sst/c/"))
    assert files == [f"overviews/1/sst/c/{k}/0/0" for k in range(3)]
    overview = xr.open_zarr(level)
    fine = ds["sst"].values.astype("float64").reshape(70, 20, 2, 720, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # land: blocks with no valid cell
        independent = np.nanmean(fine, axis=(2, 4))
    assert np.isfinite(independent).any() and np.isnan(independent).any()
    np.testing.assert_allclose(overview["sst"].values, independent, rtol=1e-6, equal_nan=True)
