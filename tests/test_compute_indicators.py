"""xclim-based indicators on daily SST and soil moisture, against numpy counts and sums."""

from __future__ import annotations

import numpy as np
import pytest

from spaceclimate.compute.indicators import (
    days_over_threshold,
    degree_days_over_threshold,
    period_statistic,
)
from spaceclimate.errors import InputError
from tests import compute_samples as cs


def test_days_above_a_threshold_in_daily_sst() -> None:
    ds = cs.harmonised(*cs.OSTIA_FILES)
    _, _, raw = cs.ostia_raw("analysed_sst")
    count = days_over_threshold(ds, "28 degC", freq="month", min_valid_fraction=0.0, variable="sst")
    assert count.attrs["units"] == "d"
    assert count.dims == ("time", "lat", "lon")
    with np.errstate(invalid="ignore"):
        expected = (raw > 301.15).sum(axis=0)
    land = np.all(np.isnan(raw), axis=0)
    got = count.isel(time=0).values
    np.testing.assert_array_equal(got[~land], expected[~land])
    assert np.all(np.isnan(got[land]))  # no valid day: the period is missing, not zero
    in_kelvin = days_over_threshold(
        ds, 301.15, freq="month", min_valid_fraction=0.0, variable="sst"
    )
    np.testing.assert_array_equal(in_kelvin.values, count.values)
    # 3 of 30 days is below the default minimum valid fraction (0.8): everything is missing
    strict = days_over_threshold(ds, "28 degC", freq="month", variable="sst")
    assert int(strict.notnull().sum()) == 0
    assert float(strict["valid_fraction"].isel(time=0, lat=400, lon=600)) == pytest.approx(0.1)


def test_degree_days_and_period_statistics() -> None:
    ds = cs.harmonised(*cs.OSTIA_FILES)
    _, _, raw = cs.ostia_raw("analysed_sst")
    dd = degree_days_over_threshold(
        ds, "28 degC", freq="month", min_valid_fraction=0, variable="sst"
    )
    assert dd.attrs["units"] in ("K d", "d K")
    cell = raw[:, 400, 600]
    assert float(dd.isel(time=0, lat=400, lon=600)) == pytest.approx(
        np.clip(cell - 301.15, 0, None).sum(), abs=1e-3
    )
    mean = period_statistic(ds, "mean", freq="month", min_valid_fraction=0.0, variable="sst")
    assert mean.attrs["units"] == "K"
    assert float(mean.isel(time=0, lat=400, lon=600)) == pytest.approx(cell.mean(), abs=1e-4)
    spread = period_statistic(ds, "std", freq="month", min_valid_fraction=0.0, variable="sst")
    assert float(spread.isel(time=0, lat=400, lon=600)) == pytest.approx(cell.std(), abs=1e-4)


def test_dry_days_in_daily_soil_moisture() -> None:
    ds = cs.harmonised(*cs.SOIL_MOISTURE)
    dry = days_over_threshold(
        ds, "0.1 m3 m-3", op="<", freq="month", min_valid_fraction=0.0, variable="sm"
    )
    values = ds["sm"].values
    with np.errstate(invalid="ignore"):
        expected = (values < 0.1).sum(axis=0)
    got = dry.isel(time=0).values
    seen = np.isfinite(values).any(axis=0)
    np.testing.assert_array_equal(got[seen], expected[seen])
    assert int(expected.sum()) > 1000  # SMMR-era dry land cells exist in the sample
    percent = days_over_threshold(
        ds, "10 %", op="<", freq="month", min_valid_fraction=0.0, variable="sm"
    )
    np.testing.assert_array_equal(percent.values[np.isfinite(got)[None]], got[np.isfinite(got)])


def test_indicators_reject_bad_input() -> None:
    ds = cs.harmonised(*cs.OSTIA_FILES)
    with pytest.raises(InputError, match="threshold"):
        days_over_threshold(ds, "28 furlongs", variable="sst")
    with pytest.raises(InputError, match="threshold"):
        days_over_threshold(ds, "0.1 m3 m-3", variable="sst")
    with pytest.raises(InputError, match="op"):
        days_over_threshold(ds, "28 degC", op="!=", variable="sst")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="freq"):
        period_statistic(ds, "mean", freq="sometimes", variable="sst")
    with pytest.raises(InputError, match="statistic"):
        period_statistic(ds, "mode", variable="sst")
