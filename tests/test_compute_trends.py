"""Linear trends and Sen/Mann-Kendall on real records, against independent calculations."""

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import stats

from spaceclimate.compute.cfmeta import convert_units
from spaceclimate.compute.seaice import index_month_means
from spaceclimate.compute.trends import linear_trend, sens_slope, trend_summary
from spaceclimate.errors import InputError, TooLargeError
from spaceclimate.harmonise.units import linear_conversion
from tests import compute_samples as cs


def _years(times: np.ndarray) -> np.ndarray:
    days = (times.astype("datetime64[s]") - np.datetime64("1970-01-01T00:00:00")).astype("float64")
    return 1970.0 + days / 86400.0 / 365.2425


def _month_middles(starts: pd.DatetimeIndex) -> np.ndarray:
    """The middle of each calendar month (a monthly mean's time: the hub stamps it there)."""
    ends = starts + pd.offsets.MonthBegin(1)
    return np.asarray((starts + (ends - starts) / 2).values)


def test_nsidc_september_extent_trend_matches_polyfit_and_nsidc() -> None:
    ds = cs.harmonised(cs.NSIDC_N)
    september = index_month_means(ds, 9).sel(time=slice("1979", "2021"))
    relative = trend_summary(linear_trend(september, relative_to=("1981", "2010")))
    per_year = linear_trend(september, per="year")

    # independent: pandas monthly means of the daily CSV, numpy.polyfit on integer years
    monthly = cs.nsidc_monthly_means()
    sept = monthly[(monthly.index.month == 9) & (monthly.index.year >= 1979)]
    sept = sept[sept.index.year <= 2021]
    assert len(sept) == 43 and september.sizes["time"] == 43
    slope, _ = np.polyfit(sept.index.year.to_numpy(dtype=float), sept.to_numpy(), 1)
    base = sept[(sept.index.year >= 1981) & (sept.index.year <= 2010)].mean()
    percent_per_decade = 10 * slope / base * 100
    assert relative["slope"] == pytest.approx(percent_per_decade, rel=1e-3)
    assert relative["reference_mean"] == pytest.approx(base, rel=1e-6)
    assert relative["units"] == "% / (10 year)"

    km2_per_year = convert_units(per_year["slope"], "km2 year-1")
    assert float(km2_per_year) == pytest.approx(slope * 1e6, rel=1e-3)
    assert -84_000 < float(km2_per_year) < -78_000

    # Published: NSIDC Arctic Sea Ice News & Analysis, "September turning" (5 October 2021):
    # September 2021 extent averaged 4.92 million km²; the September trend over 1979-2021 is
    # about -13 % per decade relative to the 1981-2010 average (NSIDC uses monthly-average
    # concentration maps; means of daily values differ slightly).
    assert float(september.sel(time="2021-09").squeeze()) == pytest.approx(4.92, abs=0.01)
    assert -13.3 < relative["slope"] < -12.4
    assert relative["p_value"] < 1e-10
    assert relative["ci_lower"] < relative["slope"] < relative["ci_upper"]


def test_gmsl_trend_matches_linregress_and_csiro() -> None:
    ds = cs.harmonised(cs.GMSL)
    trend = linear_trend(ds, per="year", variable="gmsl")
    out = trend_summary(trend)
    series = cs.gmsl().dropna()
    x = _years(_month_middles(pd.DatetimeIndex(series.index)))
    reference = stats.linregress(x, series.to_numpy())
    assert out["units"] == "mm year-1"
    assert out["slope"] == pytest.approx(reference.slope, rel=1e-6)
    assert out["stderr"] == pytest.approx(reference.stderr, rel=1e-6)
    assert out["p_value"] == pytest.approx(reference.pvalue, abs=1e-12)
    assert out["n"] == len(series)
    # Published for this product: Church & White (2011, Surv. Geophys. 32, 585, Table/abstract)
    # give 3.2 +- 0.4 mm/yr from the CSIRO altimetry GMSL over 1993-2009. The full 1993-2020
    # record rises faster (the rate has accelerated since, and this series carries no TOPEX-A
    # drift correction): 3.54 mm/yr here, above the 3.0-3.3 mm/yr often quoted for the era.
    early = trend_summary(linear_trend(ds, per="year", period=("1993", "2009"), variable="gmsl"))
    assert early["slope"] == pytest.approx(3.2, abs=0.1)
    assert 3.3 < out["slope"] < 3.7
    decade = trend_summary(linear_trend(ds, variable="gmsl"))
    assert decade["slope"] == pytest.approx(10 * out["slope"], rel=1e-12)
    assert linear_conversion(decade["units"], "mm year-1")[0] == pytest.approx(0.1)


def test_lag1_autocorrelation_correction_matches_hand_calculation() -> None:
    ds = cs.harmonised(cs.GMSL)
    corrected = trend_summary(linear_trend(ds, per="year", autocorrelation=True, variable="gmsl"))
    plain = trend_summary(linear_trend(ds, per="year", variable="gmsl"))
    series = cs.gmsl().dropna()
    x, y = _years(_month_middles(pd.DatetimeIndex(series.index))), series.to_numpy()
    slope, intercept = np.polyfit(x, y, 1)
    resid = y - (slope * x + intercept)
    r1 = np.sum(resid[1:] * resid[:-1]) / np.sum(resid**2)
    n = len(y)
    n_eff = n * (1 - r1) / (1 + r1)
    stderr = np.sqrt(np.sum(resid**2) / (n_eff - 2) / np.sum((x - x.mean()) ** 2))
    assert corrected["lag1_autocorrelation"] == pytest.approx(r1, rel=1e-6)
    assert corrected["n_eff"] == pytest.approx(n_eff, rel=1e-6)
    assert corrected["stderr"] == pytest.approx(stderr, rel=1e-6)
    assert corrected["slope"] == pytest.approx(plain["slope"], rel=1e-12)
    t_crit = stats.t.ppf(0.975, n_eff - 2)
    assert corrected["ci_upper"] == pytest.approx(slope + t_crit * stderr, rel=1e-6)
    assert corrected["stderr"] > 2 * plain["stderr"]  # monthly GMSL is strongly autocorrelated


def _brute_force_sen_mk(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float]:
    slopes, s = [], 0.0
    for i, j in itertools.combinations(range(len(y)), 2):
        slopes.append((y[j] - y[i]) / (x[j] - x[i]))
        s += float(np.sign(y[j] - y[i]))
    n = len(y)
    ties = sum(t * (t - 1) * (2 * t + 5) for t in Counter(y.tolist()).values() if t > 1)
    var_s = (n * (n - 1) * (2 * n + 5) - ties) / 18.0
    z = (s - np.sign(s)) / np.sqrt(var_s)
    return float(np.median(slopes)), s, var_s, float(2 * stats.norm.sf(abs(z)))


@pytest.mark.parametrize("name", [cs.GMSL, cs.GRACE_GREENLAND])
def test_sens_slope_and_mann_kendall_match_brute_force(name: str) -> None:
    ds = cs.harmonised(name)
    variable = "gmsl" if name == cs.GMSL else "ice_mass_change"
    result = trend_summary(sens_slope(ds, per="year", variable=variable))
    da = ds[variable].dropna("time")
    x, y = _years(da["time"].values), da.values.astype("float64")
    median, s, var_s, p = _brute_force_sen_mk(x, y)
    assert result["slope"] == pytest.approx(median, rel=1e-9)
    assert result["mk_s"] == s
    assert result["mk_var_s"] == pytest.approx(var_s, rel=1e-12)
    assert result["p_value"] == pytest.approx(p, rel=1e-6, abs=1e-300)
    assert result["ci_lower"] < result["slope"] < result["ci_upper"]
    assert result["slope"] == pytest.approx(stats.theilslopes(y, x).slope, rel=1e-9)
    if name == cs.GMSL:  # 0.1 mm resolution: many tied values, so the tie term is exercised
        assert var_s < len(y) * (len(y) - 1) * (2 * len(y) + 5) / 18.0
        assert 3.3 < result["slope"] < 3.7
    else:  # Greenland loses mass: about -270 Gt/yr over 2002-2021
        assert -300 < result["slope"] < -240


def test_trend_maps_match_per_cell_fits_and_dask() -> None:
    sst = cs.harmonised(cs.ERSST)["sst"].sel(lat=slice(0, 20), lon=slice(-60, -30))
    ols = linear_trend(sst, per="year")
    sen = sens_slope(sst, per="year")
    x = _years(sst["time"].values)
    values = sst.values.astype("float64")
    checked = 0
    for j in range(sst.sizes["lat"]):
        for i in range(sst.sizes["lon"]):
            cell = values[:, j, i]
            ok = np.isfinite(cell)
            if ok.sum() < 3:
                assert np.isnan(ols["slope"].values[j, i])
                continue
            assert ols["slope"].values[j, i] == pytest.approx(np.polyfit(x[ok], cell[ok], 1)[0])
            theil = stats.theilslopes(cell[ok], x[ok]).slope
            assert sen["slope"].values[j, i] == pytest.approx(theil, rel=1e-9, abs=1e-12)
            checked += 1
    assert checked > 100
    assert ols["slope"].attrs["units"] == "K year-1"
    lazy = linear_trend(sst.chunk({"lat": 4, "time": 20}), per="year")
    assert isinstance(lazy["slope"].data, type(sst.chunk({"lat": 4}).data))
    xr.testing.assert_allclose(lazy.compute()["slope"], ols["slope"])
    lazy_sen = sens_slope(sst.chunk({"lon": 5}), per="year").compute()
    xr.testing.assert_allclose(lazy_sen["mk_s"], sen["mk_s"])


def test_trend_rejects_bad_input() -> None:
    ds = cs.harmonised(cs.GMSL)
    with pytest.raises(InputError, match="per"):
        linear_trend(ds, per="century", variable="gmsl")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="alpha"):
        linear_trend(ds, alpha=2.0, variable="gmsl")
    with pytest.raises(InputError, match="variable"):
        linear_trend(ds)
    with pytest.raises(InputError, match="period"):
        sens_slope(ds, period=("2030", "2040"), variable="gmsl")
    with pytest.raises(InputError, match="time steps"):
        linear_trend(ds["gmsl"].isel(time=slice(0, 2)))
    with pytest.raises(InputError, match="time"):
        linear_trend(ds["gmsl"].isel(time=0, drop=True))
    with pytest.raises(TooLargeError, match="resample"):  # 14,181 daily values
        sens_slope(cs.harmonised(cs.NSIDC_N), variable="sea_ice_extent")
