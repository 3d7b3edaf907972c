"""Climatologies and anomalies on real daily and monthly records, against independent sums."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from spaceclimate.compute.climatology import anomaly, climatology, day_of_year_366
from spaceclimate.errors import InputError
from tests import compute_samples as cs

#: A window of the OSTIA grid (rows, columns) for the 366-slot daily climatologies.
WINDOW = (slice(360, 480), slice(480, 720))  # 0-30 N, 60-0 W


def _nanmean(values: np.ndarray, axis: int) -> np.ndarray:
    with warnings.catch_warnings():  # all-NaN land cells
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(values, axis=axis)


def test_ostia_anomalies_against_the_three_day_mean() -> None:
    ds = cs.harmonised(*cs.OSTIA_FILES)
    _, _, raw = cs.ostia_raw("analysed_sst")
    mean = _nanmean(raw, axis=0)
    clim = climatology(ds, None, period="all", variable="sst")
    assert clim.dims == ("lat", "lon")
    assert clim.attrs["units"] == "K"
    assert clim.attrs["cell_methods"] == "time: mean within years time: mean over years"
    np.testing.assert_allclose(clim.values, mean, atol=2e-4)
    anom = anomaly(ds, clim, variable="sst")
    np.testing.assert_allclose(anom.values, raw - mean, atol=2e-4)
    assert anom.attrs["units"] == "K" and "anomaly" in anom.attrs["long_name"]
    assert "compute.anomaly" in anom.attrs["history"]

    # a daily climatology smoothed over 3 days: the middle day's slot is the 3-day mean
    window = ds["sst"].isel(lat=WINDOW[0], lon=WINDOW[1])
    smooth = climatology(window, None, period="dayofyear", smooth_days=3)
    middle = anomaly(window, smooth).isel(time=1)
    np.testing.assert_allclose(middle.values, (raw[1] - mean)[WINDOW], atol=2e-4)


def test_ostia_product_anomaly_is_reproduced_from_its_climatology() -> None:
    ds = cs.harmonised(*cs.OSTIA_FILES).isel(lat=WINDOW[0], lon=WINDOW[1])
    _, _, raw_anomaly = cs.ostia_raw("sst_anomaly")
    raw_anomaly = raw_anomaly[:, WINDOW[0], WINDOW[1]]
    # the product's own reference: analysed_sst - sst_anomaly, one value per day of year
    reference = (ds["sst"] - ds["sst_anomaly"]).assign_attrs(units="K")
    clim = climatology(reference, None, period="dayofyear")
    assert int(clim.notnull().any(["lat", "lon"]).sum()) == 3  # slots 157, 158, 159
    anom = anomaly(ds["sst"], clim)
    np.testing.assert_allclose(anom.values, raw_anomaly, atol=2e-3)


def test_daily_climatology_handles_february_29() -> None:
    ds = cs.harmonised(cs.NSIDC_N)
    clim = climatology(ds, ("1981", "2010"), variable="sea_ice_extent")
    assert clim.sizes["dayofyear"] == 366
    daily = cs.nsidc_daily()
    base = daily[(daily.index.year >= 1981) & (daily.index.year <= 2010)]
    by_day = base.groupby([base.index.month, base.index.day]).mean()
    assert float(clim.sel(dayofyear=60)) == pytest.approx(by_day.loc[(2, 29)], rel=1e-6)
    assert float(clim.sel(dayofyear=61)) == pytest.approx(by_day.loc[(3, 1)], rel=1e-6)
    assert float(clim.sel(dayofyear=59)) == pytest.approx(by_day.loc[(2, 28)], rel=1e-6)
    assert float(clim.sel(dayofyear=366)) == pytest.approx(by_day.loc[(12, 31)], rel=1e-6)
    assert float(clim.sel(dayofyear=1)) == pytest.approx(by_day.loc[(1, 1)], rel=1e-6)

    # 1 March of a common year is compared with the 1 March climatology, not 2 March's
    anom = anomaly(ds, clim, variable="sea_ice_extent")
    value = daily.loc["1995-03-01"]
    assert float(anom.sel(time="1995-03-01").squeeze()) == pytest.approx(
        value - by_day.loc[(3, 1)], abs=1e-5
    )
    days = ["1995-02-28T12:00", "1995-03-01T12:00", "1996-02-29T12:00"]  # stamped at noon
    slots = day_of_year_366(ds["time"].sel(time=days))
    assert slots.values.tolist() == [59, 61, 60]

    # too few 29 Februaries: slot 60 becomes the average of its neighbours
    strict = climatology(ds, ("1981", "2010"), min_count=10, variable="sea_ice_extent")
    n_feb29 = int(((base.index.month == 2) & (base.index.day == 29)).sum())
    assert n_feb29 < 10
    neighbours = (by_day.loc[(2, 28)] + by_day.loc[(3, 1)]) / 2
    assert float(strict.sel(dayofyear=60)) == pytest.approx(neighbours, rel=1e-6)


def test_monthly_climatology_and_relative_anomalies() -> None:
    ds = cs.harmonised(cs.ERSST)
    clim = climatology(ds, ("2011", "2019"), variable="sst")
    assert clim.dims == ("month", "lat", "lon")
    values = ds["sst"].sel(time=slice("2011", "2019")).values.astype("float64")
    expected = _nanmean(values.reshape(9, 12, *values.shape[1:]), 0)
    np.testing.assert_allclose(clim.values, expected, rtol=1e-6)
    anom = anomaly(ds, baseline=("2011", "2019"), variable="sst")
    base = anom.sel(time=slice("2011", "2019"))
    monthly_means = base.groupby("time.month").mean()
    assert float(np.nanmax(np.abs(monthly_means.values))) < 1e-4
    rel = anomaly(ds, clim, kind="relative", variable="sst")
    assert rel.attrs["units"] == "%"
    cell = {"lat": 0.0, "lon": -140.0}
    x = ds["sst"].sel(time="2015-12", **cell).item()  # December 2015's step
    c = float(clim.sel(month=12, **cell))
    assert rel.sel(time="2015-12", **cell).item() == pytest.approx(100 * (x - c) / c, rel=1e-5)


def test_seasonal_climatology_of_a_series() -> None:
    ds = cs.harmonised(cs.GMSL)
    clim = climatology(ds, None, period="season", variable="gmsl")
    series = cs.gmsl()
    season = pd.Series(series.index.month % 12 // 3, index=series.index)
    expected = series.groupby(season).mean()  # 0 = DJF, 1 = MAM, 2 = JJA, 3 = SON
    for slot, key in zip(["DJF", "MAM", "JJA", "SON"], range(4), strict=True):
        assert float(clim.sel(season=slot)) == pytest.approx(expected.loc[key], rel=1e-5)


def test_climatology_rejects_bad_input() -> None:
    ds = cs.harmonised(cs.GMSL)
    with pytest.raises(InputError, match="baseline"):
        climatology(ds, ("1950", "1960"), variable="gmsl")
    with pytest.raises(InputError, match="baseline"):
        climatology(ds, ("2010", "1990"), variable="gmsl")
    with pytest.raises(InputError, match="baseline"):
        climatology(ds, ("last year", "2000"), variable="gmsl")
    with pytest.raises(InputError, match="period"):
        climatology(ds, None, period="weekly", variable="gmsl")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="smooth_days"):
        climatology(ds, None, smooth_days=4, variable="gmsl")
    with pytest.raises(InputError, match="kind"):
        anomaly(ds, kind="ratio", variable="gmsl")  # type: ignore[arg-type]
    sst = cs.harmonised(cs.ERSST)["sst"]
    with pytest.raises(InputError, match="units"):
        anomaly(sst, climatology(ds, None, variable="gmsl"))
    elsewhere = climatology(sst.isel(lat=slice(0, 10)), None)
    with pytest.raises(InputError, match="regrid"):
        anomaly(sst, elsewhere)
