"""Linear trends (OLS) and Sen's slope with the Mann-Kendall test, for a series or a map.

Both work along ``time`` for every other index at once (vectorised numpy inside
:func:`xarray.apply_ufunc`, dask-parallel over chunks of the non-time dims; time must be one
chunk and is rechunked to one if needed). Missing values are skipped per series. Time is
measured in years of 365.2425 days; rates are returned per year or per decade, optionally in
percent of the mean over a baseline period (the NSIDC convention for sea-ice trends).

OLS
    slope, its standard error, a two-sided confidence interval and p-value from Student's t.
    With ``autocorrelation=True`` the lag-1 autocorrelation r1 of the residuals reduces the
    effective sample size to ``n_eff = n (1 − r1) / (1 + r1)`` (r1 < 0 is taken as 0), the
    standard error uses ``n_eff − 2`` degrees of freedom and so does the t distribution
    (Santer et al. 2000, J. Geophys. Res. 105, 7337).
Sen / Mann-Kendall
    Sen's slope is the median of all pairwise slopes ``(x_j − x_i) / (t_j − t_i)``, ``i < j``;
    its confidence interval takes the order statistics of the pairwise slopes at
    ``(N ∓ z σ_S) / 2`` (Gilbert 1987, linear interpolation between ranks). The Mann-Kendall
    statistic ``S = Σ sign(x_j − x_i)`` has variance
    ``[n(n−1)(2n+5) − Σ t(t−1)(2t+5)] / 18`` over groups of t tied values, and
    ``Z = (S − sign S) / σ_S`` gives the two-sided p-value (normal approximation).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
import xarray as xr
from scipy import stats

from spaceclimate.compute.cfmeta import (
    as_dataarray,
    decimal_years,
    rate_units,
    require_time,
    select_period,
    stamp,
    units_of,
)
from spaceclimate.errors import InputError, TooLargeError

Per = Literal["year", "decade"]
PeriodArg = tuple[str, str] | list[str] | str | None
OLS_STATS = (
    "slope",
    "stderr",
    "ci_lower",
    "ci_upper",
    "p_value",
    "n",
    "n_eff",
    "lag1_autocorrelation",
    "mean",
    "time_mean",
)
SEN_STATS = (
    "slope",
    "ci_lower",
    "ci_upper",
    "p_value",
    "mk_s",
    "mk_var_s",
    "mk_z",
    "kendall_tau",
    "n",
)
#: Largest number of (series × pairs) held at once by the Sen/Mann-Kendall kernel.
PAIR_BLOCK = 4_000_000
#: Longest series for Sen's slope: n (n − 1) / 2 pairwise slopes are sorted per series.
MAX_SEN_STEPS = 5_000


def ols_kernel(
    y: np.ndarray, x: np.ndarray, alpha: float = 0.05, autocorrelation: bool = False
) -> np.ndarray:
    """Return OLS statistics (last axis, order of ``OLS_STATS``) of ``y`` (…, n) on ``x`` (n)."""
    y = np.asarray(y, dtype="float64")
    valid = np.isfinite(y)
    n = valid.sum(axis=-1).astype("float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        xv = np.where(valid, x, 0.0)
        x_mean = xv.sum(axis=-1) / n
        y_mean = np.where(valid, y, 0.0).sum(axis=-1) / n
        dx = np.where(valid, x - x_mean[..., None], 0.0)
        dy = np.where(valid, y - y_mean[..., None], 0.0)
        sxx = (dx * dx).sum(axis=-1)
        slope = (dx * dy).sum(axis=-1) / sxx
        resid = np.where(valid, dy - slope[..., None] * dx, 0.0)
        sse = (resid * resid).sum(axis=-1)
        pairs = valid[..., 1:] & valid[..., :-1]
        r1 = (resid[..., 1:] * resid[..., :-1] * pairs).sum(axis=-1) / sse
        if autocorrelation:
            n_eff = n * (1.0 - np.clip(r1, 0.0, 1.0)) / (1.0 + np.clip(r1, 0.0, 1.0))
        else:
            n_eff = n.copy()
        dof = n_eff - 2.0
        dof = np.where(dof > 0, dof, np.nan)
        stderr = np.sqrt(sse / dof / sxx)
        t_crit = stats.t.ppf(1.0 - alpha / 2.0, dof)
        p_value = 2.0 * stats.t.sf(np.abs(slope / stderr), dof)
    few = n < 3
    out = np.stack(
        [
            slope,
            stderr,
            slope - t_crit * stderr,
            slope + t_crit * stderr,
            p_value,
            n,
            n_eff,
            r1,
            y_mean,
            x_mean,
        ],
        axis=-1,
    )
    out[few, :] = np.nan
    out[few, 5] = n[few]
    return out


def _tie_term(values: np.ndarray) -> np.ndarray:
    """Return Σ t(t−1)(2t+5) over groups of equal values of each row (NaNs ignored)."""
    rows, n = values.shape
    ordered = np.sort(values, axis=1)  # NaNs last; NaN != NaN so each is its own group
    new_group = np.ones((rows, n), dtype=bool)
    new_group[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    group = np.cumsum(new_group, axis=1) - 1
    flat = (group + np.arange(rows)[:, None] * n).ravel()
    sizes = np.bincount(flat, minlength=rows * n).reshape(rows, n).astype("float64")
    return (sizes * (sizes - 1.0) * (2.0 * sizes + 5.0)).sum(axis=1)


def _order_stat(sorted_slopes: np.ndarray, position: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Interpolate each row of ascending *sorted_slopes* at 0-based *position* (< count)."""
    pos = np.clip(position, 0.0, np.maximum(count - 1.0, 0.0))
    lo = np.floor(pos).astype("int64")
    hi = np.minimum(lo + 1, np.maximum(count.astype("int64") - 1, 0))
    rows = np.arange(sorted_slopes.shape[0])
    frac = pos - lo
    return sorted_slopes[rows, lo] * (1.0 - frac) + sorted_slopes[rows, hi] * frac


def _sen_block(y: np.ndarray, x: np.ndarray, i: np.ndarray, j: np.ndarray, z: float) -> np.ndarray:
    diffs = y[:, j] - y[:, i]
    slopes = np.sort(diffs / (x[j] - x[i]), axis=1)
    n = np.isfinite(y).sum(axis=1).astype("float64")
    npairs = np.isfinite(slopes).sum(axis=1).astype("float64")
    s = np.nansum(np.sign(diffs), axis=1)
    var_s = (n * (n - 1.0) * (2.0 * n + 5.0) - _tie_term(y)) / 18.0
    with np.errstate(invalid="ignore", divide="ignore"):
        sigma = np.sqrt(var_s)
        mk_z = np.where(s > 0, (s - 1.0) / sigma, np.where(s < 0, (s + 1.0) / sigma, 0.0))
        p_value = 2.0 * stats.norm.sf(np.abs(mk_z))
        median = _order_stat(slopes, (npairs - 1.0) / 2.0, npairs)
        lower = _order_stat(slopes, (npairs - z * sigma) / 2.0 - 1.0, npairs)
        upper = _order_stat(slopes, (npairs + z * sigma) / 2.0, npairs)
        tau = s / (n * (n - 1.0) / 2.0)
    out = np.stack([median, lower, upper, p_value, s, var_s, mk_z, tau, n], axis=-1)
    few = n < 3
    out[few, :] = np.nan
    out[few, -1] = n[few]
    return out


def sen_kernel(y: np.ndarray, x: np.ndarray, alpha: float = 0.05) -> np.ndarray:
    """Return Sen/Mann-Kendall statistics (last axis, order of ``SEN_STATS``) of ``y`` (…, n)."""
    y = np.asarray(y, dtype="float64")
    lead, n = y.shape[:-1], y.shape[-1]
    flat = y.reshape(-1, n)
    i, j = np.triu_indices(n, k=1)
    z = float(stats.norm.ppf(1.0 - alpha / 2.0))
    rows = max(1, PAIR_BLOCK // max(len(i), 1))
    parts = [_sen_block(flat[k : k + rows], x, i, j, z) for k in range(0, flat.shape[0], rows)]
    out = np.concatenate(parts, axis=0) if parts else np.empty((0, len(SEN_STATS)))
    return out.reshape(*lead, len(SEN_STATS))


def _prepare(
    data: xr.Dataset | xr.DataArray, variable: str | None, period: PeriodArg, alpha: float, per: str
) -> tuple[xr.DataArray, np.ndarray]:
    da = as_dataarray(data, variable)
    require_time(da, minimum=3)
    if not 0.0 < float(alpha) < 1.0:
        raise InputError(f"alpha: must be between 0 and 1, not {alpha}")
    if per not in ("year", "decade"):
        raise InputError(f"per: must be 'year' or 'decade', not {per!r}")
    da = select_period(da, period, "period")
    require_time(da, minimum=3)
    if da.chunks is not None:
        da = da.chunk({"time": -1})
    return da, decimal_years(da["time"].values)


def _apply(
    kernel: Callable[..., np.ndarray],
    da: xr.DataArray,
    x: np.ndarray,
    names: tuple[str, ...],
    **kw: object,
) -> xr.Dataset:
    stacked = xr.apply_ufunc(
        kernel,
        da,
        input_core_dims=[["time"]],
        output_core_dims=[["statistic"]],
        kwargs={"x": x, **kw},
        dask="parallelized",
        output_dtypes=["float64"],
        dask_gufunc_kwargs={"output_sizes": {"statistic": len(names)}},
    )
    drop = [c for c in stacked.coords if "time" in stacked[c].dims]
    stacked = stacked.drop_vars(drop)
    return xr.Dataset({name: stacked.isel(statistic=k, drop=True) for k, name in enumerate(names)})


def _scale(
    ds: xr.Dataset,
    da: xr.DataArray,
    per: str,
    relative_to: PeriodArg,
    rate_vars: tuple[str, ...],
) -> tuple[xr.Dataset, str]:
    factor = 10.0 if per == "decade" else 1.0
    units = units_of(da)
    if relative_to is not None:
        reference = select_period(da, relative_to, "relative_to").mean("time", skipna=True)
        reference = reference.drop_vars([c for c in reference.coords if c not in reference.dims])
        factor_da = factor * 100.0 / reference.where(reference != 0)
        out_units = rate_units("%", per)
        for name in rate_vars:
            ds[name] = ds[name] * factor_da
        ds["reference_mean"] = reference.assign_attrs(
            units=units, long_name="mean over the reference period of relative trends"
        )
    else:
        out_units = rate_units(units, per)
        for name in rate_vars:
            ds[name] = ds[name] * factor
    return ds, out_units


def linear_trend(
    data: xr.Dataset | xr.DataArray,
    *,
    per: Per = "decade",
    period: tuple[str, str] | list[str] | str | None = None,
    relative_to: tuple[str, str] | list[str] | str | None = None,
    alpha: float = 0.05,
    autocorrelation: bool = False,
    variable: str | None = None,
) -> xr.Dataset:
    """Return the OLS linear trend of *data* along time (per series or per grid cell).

    Parameters
    ----------
    data
        A harmonised variable with ``time`` (or a dataset plus *variable*).
    per
        Rate unit: ``year`` or ``decade``.
    period
        Optional ``(start, end)`` to fit over (years or ISO dates).
    relative_to
        Optional ``(start, end)``: express rates in percent of the mean over that period.
    alpha
        1 − confidence level of the interval (0.05 for 95 %).
    autocorrelation
        Reduce the effective sample size by the residuals' lag-1 autocorrelation.

    Returns
    -------
    xarray.Dataset
        ``slope``, ``stderr``, ``ci_lower``, ``ci_upper`` (rate units), ``p_value``, ``n``,
        ``n_eff``, ``lag1_autocorrelation``, ``mean`` (of the fitted values, data units) and
        ``time_mean`` (decimal year) so that the line is ``mean + slope (t − time_mean)``.
    """
    da, x = _prepare(data, variable, period, alpha, per)
    ds = _apply(
        ols_kernel, da, x, OLS_STATS, alpha=float(alpha), autocorrelation=bool(autocorrelation)
    )
    rates = ("slope", "stderr", "ci_lower", "ci_upper")
    ds, units = _scale(ds, da, per, relative_to, rates)
    name = da.attrs.get("long_name", da.name or "value")
    level = f"{100 * (1 - alpha):g} %"
    meta = {
        "slope": ("linear trend (ordinary least squares)", units),
        "stderr": ("standard error of the linear trend", units),
        "ci_lower": (f"lower bound of the {level} confidence interval of the trend", units),
        "ci_upper": (f"upper bound of the {level} confidence interval of the trend", units),
        "p_value": ("two-sided p-value of a zero trend (Student t)", "1"),
        "n": ("number of valid time steps", "1"),
        "n_eff": ("effective sample size", "1"),
        "lag1_autocorrelation": ("lag-1 autocorrelation of the residuals", "1"),
        "mean": ("mean of the valid values", units_of(da)),
        "time_mean": ("mean time of the valid values (decimal year)", "year"),
    }
    for var, (long_name, var_units) in meta.items():
        ds[var].attrs = {"long_name": f"{name}: {long_name}", "units": var_units}
    ds["slope"].attrs["cell_methods"] = "time: linear_trend"
    span = [str(np.datetime_as_string(da["time"].values[k], unit="D")) for k in (0, -1)]
    ds.attrs = {
        "time_coverage_start": span[0],
        "time_coverage_end": span[1],
        "sco_autocorrelation_correction": str(bool(autocorrelation)).lower(),
    }
    params = {
        "per": per,
        "period": period,
        "relative_to": relative_to,
        "alpha": alpha,
        "autocorrelation": autocorrelation,
    }
    return stamp(ds, "linear_trend", params, da)


def sens_slope(
    data: xr.Dataset | xr.DataArray,
    *,
    per: Per = "decade",
    period: tuple[str, str] | list[str] | str | None = None,
    relative_to: tuple[str, str] | list[str] | str | None = None,
    alpha: float = 0.05,
    variable: str | None = None,
) -> xr.Dataset:
    """Return Sen's slope and the Mann-Kendall trend test of *data* along time.

    Parameters are those of :func:`linear_trend` (without the autocorrelation correction).

    Returns
    -------
    xarray.Dataset
        ``slope``, ``ci_lower``, ``ci_upper`` (rate units), ``p_value`` (Mann-Kendall,
        two-sided, tie-corrected), ``mk_s``, ``mk_var_s``, ``mk_z``, ``kendall_tau`` and ``n``.
    """
    da, x = _prepare(data, variable, period, alpha, per)
    if da.sizes["time"] > MAX_SEN_STEPS:
        raise TooLargeError(
            f"data: Sen's slope of {da.sizes['time']} time steps needs too many pairwise "
            f"slopes (limit {MAX_SEN_STEPS} steps); resample to monthly or annual first"
        )
    ds = _apply(sen_kernel, da, x, SEN_STATS, alpha=float(alpha))
    ds, units = _scale(ds, da, per, relative_to, ("slope", "ci_lower", "ci_upper"))
    name = da.attrs.get("long_name", da.name or "value")
    level = f"{100 * (1 - alpha):g} %"
    meta = {
        "slope": ("Sen's slope (median of pairwise slopes)", units),
        "ci_lower": (f"lower bound of the {level} confidence interval of Sen's slope", units),
        "ci_upper": (f"upper bound of the {level} confidence interval of Sen's slope", units),
        "p_value": ("two-sided p-value of the Mann-Kendall test (ties corrected)", "1"),
        "mk_s": ("Mann-Kendall statistic S", "1"),
        "mk_var_s": ("variance of S with tie correction", "1"),
        "mk_z": ("Mann-Kendall normal score Z", "1"),
        "kendall_tau": ("Kendall's tau (S over the number of pairs)", "1"),
        "n": ("number of valid time steps", "1"),
    }
    for var, (long_name, var_units) in meta.items():
        ds[var].attrs = {"long_name": f"{name}: {long_name}", "units": var_units}
    ds["slope"].attrs["cell_methods"] = "time: median_of_pairwise_slopes"
    span = [str(np.datetime_as_string(da["time"].values[k], unit="D")) for k in (0, -1)]
    ds.attrs = {"time_coverage_start": span[0], "time_coverage_end": span[1]}
    params = {"per": per, "period": period, "relative_to": relative_to, "alpha": alpha}
    return stamp(ds, "sens_slope", params, da)


def trend_summary(trend: xr.Dataset) -> dict[str, float | str]:
    """Return the statistics of a single-series trend as a plain dict (units included)."""
    if trend["slope"].ndim != 0:
        raise InputError("trend: a summary needs a single series; this trend is a map")
    out: dict[str, float | str] = {str(k): float(v) for k, v in trend.data_vars.items()}
    out["units"] = str(trend["slope"].attrs.get("units", ""))
    return out
