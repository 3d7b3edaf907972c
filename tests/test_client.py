"""The Python client against a real server: search, open, time series, download, errors."""

from __future__ import annotations

from pathlib import Path

import netCDF4
import numpy as np
import pytest
import xarray as xr

from spaceclimate.catalog import open_catalog
from spaceclimate.client import Hub, HubBadRequest, HubNotFound, HubTooLarge
from spaceclimate.client.hub import search_datetime
from spaceclimate.store import open_store

from .conftest import start_server, stop_server
from .profile import hub_settings

OSTIA = "ukmo-ostia-sst-daily"


@pytest.fixture(scope="module")
def hub(live_hub: str) -> Hub:
    with Hub(live_hub) as client:
        yield client  # type: ignore[misc]


def test_search_returns_pystac_items(hub: Hub) -> None:
    items = hub.search(collections=[OSTIA], datetime="2017-06-06")
    assert [i.id for i in items] == ["sst_ostia_l4_anom_daily_20170606"]
    arctic = hub.search(bbox=[-30, 70, 30, 85], ecv="sea_ice", page_size=2)
    ids = {i.collection_id for i in arctic}
    assert "nsidc-seaice-cdr-nh-monthly" in ids and "nsidc-seaice-cdr-sh-monthly" not in ids
    cols = hub.collections(agency="ESA")
    assert "esa-cci-sm-combined" in {c.id for c in cols}


def test_search_takes_dates_as_whole_days(hub: Hub) -> None:
    def ids(when: str) -> list[str]:
        return sorted(i.id for i in hub.search(collections=[OSTIA], datetime=when))

    day = "sst_ostia_l4_anom_daily_2017060"
    assert ids("2017-06-05/2017-06-06") == [f"{day}5", f"{day}6"]
    assert ids("2017-06-07/..") == [f"{day}7"]
    assert ids("../2017-06-05") == [f"{day}5"]
    assert ids("2017-06-06T12:00:00Z") == [f"{day}6"]
    assert ids("2017-06-06T00:00:00Z/2017-06-07") == [f"{day}6", f"{day}7"]
    assert search_datetime("2021-12-01/2021-12-31") == ("2021-12-01T00:00:00Z/2021-12-31T23:59:59Z")
    with pytest.raises(HubBadRequest, match="datetime"):
        hub.search(datetime="2017-06-06T12:00:00")  # a time without offset is not RFC 3339


def test_open_is_lazy_and_equals_local_cube(hub: Hub, hub_home: Path) -> None:
    remote = hub.open(OSTIA)
    assert remote["sst"].chunks is not None  # dask-backed, nothing read yet
    settings = hub_settings(hub_home)
    cat = open_catalog(settings.resolved_catalog_url)
    try:
        href = cat.get_collection(OSTIA)["assets"]["zarr"]["href"]
    finally:
        cat.close()
    local = xr.open_zarr(open_store(settings).path(href))
    window = {"lat": slice(-5, 5), "lon": slice(-150, -130)}
    got = remote["sst"].sel(window).values
    np.testing.assert_array_equal(got, local["sst"].sel(window).values)
    assert np.isfinite(got).all() and 290 < float(np.nanmean(got)) < 305


def test_timeseries_equals_source_files(hub: Hub, samples: Path) -> None:
    frame = hub.timeseries(OSTIA, lon=-30.1, lat=40.3, variables=["sst"])
    assert list(frame.columns) == ["sst"] and frame.attrs["units"]["sst"] == "K"
    expected = []
    for day in (5, 6, 7):
        with netCDF4.Dataset(samples / "sst" / f"sst_ostia_l4_anom_daily_2017060{day}.nc") as nc:
            lat = nc.variables["lat"][:]
            lon = nc.variables["lon"][:]
            i = int(np.abs(lat - 40.3).argmin())
            j = int(np.abs(lon - (360 - 30.1)).argmin())
            expected.append(float(nc.variables["analysed_sst"][0, i, j]))
    np.testing.assert_allclose(frame["sst"].to_numpy(), expected, atol=1e-3)
    assert [str(t)[:10] for t in frame.index] == ["2017-06-05", "2017-06-06", "2017-06-07"]


def test_download_netcdf_round_trip(hub: Hub, tmp_path: Path) -> None:
    target = hub.download(
        OSTIA, tmp_path / "north_atlantic.nc", bbox=[-40, 30, -20, 50], variables=["sst"]
    )
    with xr.open_dataset(target) as ds:
        assert set(ds.data_vars) >= {"sst"} and ds.sizes["time"] == 3
        assert float(ds.lat.min()) >= 29.8 and float(ds.lat.max()) <= 50.2
        remote = hub.open(OSTIA)["sst"].sel(lat=slice(30, 50), lon=slice(-40, -20))
        np.testing.assert_allclose(ds["sst"].values, remote.values, equal_nan=True)


def test_errors_are_typed(hub: Hub, hub_home: Path) -> None:
    with pytest.raises(HubNotFound) as missing:
        hub.open("no-such-collection")
    assert OSTIA in missing.value.known
    with pytest.raises(HubBadRequest) as bad:
        hub.search(bbox=[10, 10, 0, 0])
    assert "bbox" in bad.value.detail
    url, proc = start_server(hub_home, env={"SCO_MAX_REQUEST_BYTES": "100000"})
    try:
        with Hub(url) as small:
            with pytest.raises(HubTooLarge) as big:
                small.download(OSTIA, hub_home.parent / "never.nc")
            assert big.value.estimate_bytes and big.value.estimate_bytes > 100_000
            assert not (hub_home.parent / "never.nc").exists()
    finally:
        stop_server(proc)
