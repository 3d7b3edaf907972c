"""Temporal resampling with missing data, against pandas on the source files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spaceclimate.compute.resample import resample_time, select_month, valid_fraction
from spaceclimate.errors import InputError
from tests import compute_samples as cs


def test_daily_to_monthly_keeps_complete_months_only() -> None:
    ds = cs.harmonised(cs.NSIDC_N)
    monthly = resample_time(ds, "month", min_valid_fraction=0.9, variable="sea_ice_extent")
    daily = cs.nsidc_daily()
    groups = daily.groupby(daily.index.to_period("M"))
    means, counts = groups.mean().to_timestamp(), groups.count().to_timestamp()
    days = pd.Series(means.index.days_in_month, index=means.index)
    # every day present after August 1987, every other day before
    step = pd.Series(np.where(means.index < "1987-08-01", 2.0, 1.0), index=means.index)
    complete = counts >= 0.9 * days / step
    got = monthly.to_series()
    kept = got.dropna().index
    assert set(kept) == set(complete[complete].index)
    np.testing.assert_allclose(got.loc[kept].values, means.loc[kept].values, rtol=1e-5)
    assert float(got.loc["1990-06-01"]) == pytest.approx(means.loc["1990-06-01"], rel=1e-5)
    assert np.isnan(got.loc["1978-10-01"])  # the record starts on 26 October 1978
    assert monthly.attrs["sco_min_valid_fraction"] == 0.9
    assert "time: mean" in monthly.attrs["cell_methods"]
    assert monthly.attrs["units"] == "1e6 km2"
    everything = resample_time(ds, "month", min_valid_fraction=0.0, variable="sea_ice_extent")
    assert float(everything.sel(time="1987-12-01")) == pytest.approx(means.loc["1987-12-01"])


def test_monthly_to_annual_and_fixed_steps() -> None:
    ds = cs.harmonised(cs.GMSL)
    annual = resample_time(ds, "year", min_valid_fraction=1.0, variable="gmsl")
    series = cs.gmsl()
    by_year = series.groupby(series.index.year)
    assert float(annual.sel(time="1995-01-01")) == pytest.approx(by_year.mean().loc[1995], rel=1e-5)
    assert np.isnan(float(annual.sel(time="2020-01-01")))  # January to July only
    assert float(annual["valid_fraction"].sel(time="2020-01-01")) == pytest.approx(7 / 12)
    maxima = resample_time(ds, "year", statistic="max", min_valid_fraction=0.5, variable="gmsl")
    assert float(maxima.sel(time="2020-01-01")) == pytest.approx(by_year.max().loc[2020])
    # against a fixed daily step a month of monthly data is 1 value out of ~30
    fraction = valid_fraction(ds["gmsl"], "year", step="1D")
    assert float(fraction.sel(time="1995-01-01")) == pytest.approx(12 / 365)


def test_gridded_resampling_per_cell() -> None:
    ds = cs.harmonised(*cs.OSTIA_FILES)
    _, _, raw = cs.ostia_raw("analysed_sst")
    out = resample_time(ds, "month", min_valid_fraction=0.0, step="1D", variable="sst")
    assert out.dims == ("time", "lat", "lon")
    assert float(out["valid_fraction"].isel(time=0, lat=360, lon=0)) == pytest.approx(3 / 30)
    cell = raw[:, 400, 600]
    assert float(out.isel(time=0, lat=400, lon=600)) == pytest.approx(cell.mean(), abs=1e-4)
    strict = resample_time(ds, "month", min_valid_fraction=0.5, variable="sst")
    assert int(strict.notnull().sum()) == 0


def test_select_month_and_errors() -> None:
    ds = cs.harmonised(cs.GMSL)
    march = select_month(ds, 3, variable="gmsl")
    assert set(pd.DatetimeIndex(march["time"].values).month) == {3}
    assert march.sizes["time"] == 28
    with pytest.raises(InputError, match="freq"):
        resample_time(ds, "fortnightly-ish", variable="gmsl")
    with pytest.raises(InputError, match="statistic"):
        resample_time(ds, statistic="mode", variable="gmsl")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="min_valid_fraction"):
        resample_time(ds, min_valid_fraction=1.5, variable="gmsl")
    with pytest.raises(InputError, match="step"):
        resample_time(ds, step="often", variable="gmsl")
    with pytest.raises(InputError, match="month"):
        select_month(ds, 0, variable="gmsl")
