"""The series-shaped copy of a cube, the block-by-block writer, and reads that use them."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr

from spaceclimate.ingest import Ingestor
from spaceclimate.store import CubeLocation
from spaceclimate.store import series as sr
from spaceclimate.store.series import SeriesReader, open_series, series_reader
from spaceclimate.store.writer import block_means, write_cube

from .profile import cube_location, hub_settings, staged_leftovers

OSTIA = "ukmo-ostia-sst-daily"
SAMPLE = "sst/sst_ostia_l4_anom_daily_2017060{}.nc"


def _cube(home: Path, collection_id: str) -> CubeLocation:
    return cube_location(hub_settings(home), collection_id)  # a folder or an object prefix


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.array_equal(a, b, equal_nan=True))


def test_series_copy_equals_the_cube(hub_home: Path) -> None:
    cube = _cube(hub_home, OSTIA)
    main, copy = xr.open_zarr(cube), open_series(cube)
    assert sorted(copy.data_vars) == ["sst", "sst_anomaly"]
    for name in ("sst", "sst_anomaly"):
        assert copy[name].dims == ("time", "lat", "lon")
        assert _same(copy[name].values, main[name].values)
        assert copy[name].attrs == main[name].attrs
    np.testing.assert_array_equal(copy["time"].values, main["time"].values)
    np.testing.assert_array_equal(copy["lat_bnds"].values, main["lat_bnds"].values)
    enc = copy["sst"].encoding
    assert enc["chunks"] == (3, 16, 16) and enc["shards"] == (3, 256, 256)
    layout = copy.attrs[sr.LAYOUT_ATTR]
    assert layout["time_chunk"] == 3 and layout["variables"] == ["sst", "sst_anomaly"]
    assert sorted(xr.open_zarr(cube).data_vars) == ["sst", "sst_anomaly"]  # root unchanged


def test_static_and_gridless_cubes_have_no_series_copy(hub_home: Path) -> None:
    assert not sr.has_series(_cube(hub_home, "cnes-cls-mss"))  # no time axis
    assert not sr.has_series(_cube(hub_home, "csiro-gmsl-altimetry"))  # no grid


def test_point_reads_straight_from_the_shards_equal_the_cube(hub_home: Path) -> None:
    cube = _cube(hub_home, OSTIA)
    main = xr.open_zarr(cube)
    reader = SeriesReader(cube)
    for row, col in ((0, 0), (400, 880), (719, 1439), (255, 256), (600, 17)):
        for start, stop in ((0, 3), (1, 3), (2, 3)):
            got = reader.read_point("sst", {"lat": row, "lon": col}, start, stop)
            want = main["sst"].isel(time=slice(start, stop), lat=row, lon=col).values
            assert _same(got, want), (row, col, start, stop)


def _grown_band(steps: int) -> xr.Dataset:
    """A 40 x 1440 latitude band of the real OSTIA sample over *steps* days (values vary)."""
    from spaceclimate.ecv import get_recipe
    from spaceclimate.harmonise import harmonise_file

    here = Path(__file__).resolve().parents[1] / "data" / "samples"
    one = harmonise_file(here / SAMPLE.format(5), get_recipe(OSTIA)).isel(lat=slice(300, 340))
    days = np.arange(steps)
    out = xr.concat([one] * steps, dim="time", data_vars="minimal", coords="minimal")
    shift = xr.DataArray(0.01 * days.astype("float32"), dims="time")
    for name in ("sst", "sst_anomaly"):
        out[name] = (out[name] + shift).astype("float32")
        out[name].attrs = one[name].attrs
    times = one["time"].values[0] + days.astype("timedelta64[D]")
    bnds = one["time_bnds"].values[0] + days.astype("timedelta64[D]")[:, None]
    return out.assign_coords(time=("time", times), time_bnds=(("time", "bnds"), bnds))


def test_block_writer_streams_every_layout(tmp_path: Path, monkeypatch: Any) -> None:
    from spaceclimate.store import writer

    # small chunks so that 70 steps make three blocks: 32, 32 and 6 steps
    monkeypatch.setattr(writer, "TARGET_CHUNK_BYTES", 16 * 40 * 256 * 4)  # 16 steps a chunk
    monkeypatch.setattr(sr, "MAX_SERIES_TIME_CHUNK", 32)
    ds = _grown_band(70)
    target = tmp_path / "cube.zarr"
    write_cube(ds, target)
    main, copy = xr.open_zarr(target), open_series(target)
    assert main["sst"].encoding["chunks"] == (16, 40, 256)
    assert copy["sst"].encoding["chunks"] == (32, 16, 16)
    for name in ("sst", "sst_anomaly"):
        assert _same(main[name].values, ds[name].values)
        assert _same(copy[name].values, ds[name].values)
    np.testing.assert_array_equal(main["time"].values, ds["time"].values)
    np.testing.assert_array_equal(main["time_bnds"].values, ds["time_bnds"].values)
    np.testing.assert_array_equal(copy["time_bnds"].values, ds["time_bnds"].values)
    for level, factor in ((1, 2), (2, 4)):
        overview = xr.open_zarr(target / "overviews" / str(level))
        values = ds["sst"].values
        blocks = values.reshape(70, 40 // factor, factor, 1440 // factor, factor)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            independent = np.nanmean(blocks, axis=(2, 4))
        np.testing.assert_allclose(overview["sst"].values, independent, rtol=1e-6, equal_nan=True)
        assert overview.sizes["time"] == 70
    reader = SeriesReader(target)
    got = reader.read_point("sst", {"lat": 12, "lon": 700}, 5, 69)  # across three chunks
    assert _same(got, ds["sst"].isel(lat=12, lon=700, time=slice(5, 69)).values)


@pytest.mark.parametrize(
    ("shape", "levels", "dtype"),
    [((3, 13, 27), 2, "float32"), ((2, 37, 70), 4, "float32"), ((3, 13, 27), 2, "float64")],
)
def test_block_means_match_nanmean_with_odd_edges(
    shape: tuple[int, int, int], levels: int, dtype: str
) -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(280, 5, shape).astype(dtype)
    values[values < 276] = np.nan
    values[0, :16, :16] = np.nan  # a whole block of the coarsest level with no valid cell
    values[-1, 16:32, 16:32] = 290.0  # and one with every cell valid (16 x 16 = 256 counted)
    result = block_means(values, levels)
    _, height, width = shape
    for k in range(levels):
        factor = 2 ** (k + 1)
        rows, cols = -(-height // factor), -(-width // factor)
        padded = np.full((shape[0], rows * factor, cols * factor), np.nan, dtype=dtype)
        padded[:, :height, :width] = values
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            expected = np.nanmean(padded.reshape(shape[0], rows, factor, cols, factor), axis=(2, 4))
        assert result[k].dtype == np.dtype(dtype)
        np.testing.assert_allclose(result[k], expected, rtol=1e-6, equal_nan=True)
    assert np.isnan(result[-1][0, 0, 0])


def test_files_out_of_time_order_are_put_in_order(tmp_path: Path, samples: Path) -> None:
    folder = tmp_path / "files"
    folder.mkdir()
    for day in (5, 6):
        shutil.copy(samples / SAMPLE.format(day), folder)
    # named before the others, but holding the last day: the cube must still be in time order
    shutil.copy(samples / SAMPLE.format(7), folder / "sst_ostia_l4_anom_daily_20170600.nc")
    ingestor = Ingestor(hub_settings(tmp_path / "hub"))
    try:
        result = ingestor.ingest([folder])[0]
    finally:
        ingestor.close()
    cube = _cube(tmp_path / "hub", OSTIA)
    main, copy = xr.open_zarr(cube), open_series(cube)
    days = [str(t)[:10] for t in main["time"].values]
    assert result.status == "published" and days == ["2017-06-05", "2017-06-06", "2017-06-07"]
    assert _same(copy["sst"].values, main["sst"].values)
    raw = xr.open_dataset(samples / SAMPLE.format(7))["analysed_sst"].values[0]
    got = main["sst"].isel(time=2).sel(lat=10.125, lon=-139.875).values
    assert float(got) == pytest.approx(float(raw[400, 880]), abs=1e-4)
    assert not staged_leftovers(tmp_path / "hub")


def test_edr_position_reads_the_series_copy(api: Any, hub_home: Path) -> None:
    cube = _cube(hub_home, OSTIA)
    reader = series_reader(cube)
    assert reader is not None
    reader._indexes.clear()
    got = api.get(
        f"/edr/collections/{OSTIA}/position",
        params={"coords": "POINT(-139.9 10.1)", "parameter-name": "sst"},
    )
    assert got.status_code == 200
    values = got.json()["ranges"]["sst"]["values"]
    want = xr.open_zarr(cube)["sst"].sel(lat=10.125, lon=-139.875).values
    np.testing.assert_allclose(values, want, rtol=0, atol=1e-5)
    assert len(reader._indexes) == 1  # the shard holding the cell was read: one index cached


def test_windows_read_from_the_shards_equal_the_cube(hub_home: Path) -> None:
    cube = _cube(hub_home, OSTIA)
    main = xr.open_zarr(cube)["sst"]
    reader = SeriesReader(cube)
    box = [(1, 3), (250, 270), (1430, 1440)]  # across shards in rows, the last column
    got = reader.read_window("sst", box)
    want = main.isel(time=slice(1, 3), lat=slice(250, 270), lon=slice(1430, 1440)).values
    assert _same(got, want)
    lazy = open_series(cube, dask=False)["sst"]  # indexing reads through the same reader
    assert lazy.chunks is None
    assert _same(lazy.isel(lat=300, lon=slice(10, 40)).values, main.isel(lat=300).values[:, 10:40])


def test_area_mean_read_in_blocks_equals_the_dask_calculation(hub_home: Path) -> None:
    from spaceclimate.compute.regions import regional_mean

    cube = _cube(hub_home, OSTIA)
    blocked = regional_mean(open_series(cube, dask=False)["sst"], "NAO")
    lazy = regional_mean(xr.open_zarr(cube)["sst"], "NAO").compute()
    np.testing.assert_allclose(blocked.values, lazy.values, rtol=1e-12)
    np.testing.assert_allclose(
        blocked["valid_area_fraction"].values, lazy["valid_area_fraction"].values, rtol=1e-12
    )
    assert blocked.attrs["units"] == "K" and str(blocked["region"].values).startswith("ar6:NAO")
