"""The functions that run each process (named by ``run`` in ``processes.yaml``).

Each takes the run environment and validated inputs and returns the job's outputs as JSON:
inline ``series``/``summary`` values, ``collection`` links to a derived collection, or a
``file`` to download. The science lives in :mod:`spaceclimate.compute`; this module only
opens inputs, reports progress and publishes results.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import xarray as xr

from spaceclimate.compute import (
    climatology as clim_mod,
)
from spaceclimate.compute import (
    compare as compare_mod,
)
from spaceclimate.compute import (
    indicators as ind_mod,
)
from spaceclimate.compute import regions, regrid, resample, seaice, trends
from spaceclimate.compute.export import collection_attrs
from spaceclimate.compute.subset import grid_kind
from spaceclimate.errors import InputError
from spaceclimate.jobs.env import JobEnv
from spaceclimate.processes.running import (
    compute,
    input_bytes,
    open_input,
    pick_variable,
    publish_derived,
    select,
    series_output,
)
from spaceclimate.store.series import has_series, open_series

Outputs = dict[str, Any]


def _period(text: str | None, name: str) -> tuple[str, str] | None:
    """``1981/2010`` → ``("1981", "2010")`` (either side may be a full date)."""
    if not text:
        return None
    parts = [p.strip() for p in text.split("/")]
    if len(parts) != 2 or not all(parts):
        raise InputError(f"inputs.{name}: expected start/end, e.g. 1981/2010")
    return parts[0], parts[1]


def _gridded(ds: xr.Dataset, collection: str) -> None:
    if grid_kind(ds) == "none":
        raise InputError(f"inputs.collection: {collection} is a series without a grid")


# -- area mean --------------------------------------------------------------------------------
def _series_shaped(
    env: JobEnv, doc: dict[str, Any], da: xr.DataArray, datetime_text: str | None
) -> xr.DataArray:
    """Return *da* read from the cube's series-shaped copy when it holds the variable.

    An area mean reads every time step of the cells of one region: the copy's chunks (256
    steps of 16 x 16 cells) cover a region with dense reads, and the copy is opened without
    dask, so :func:`~spaceclimate.compute.regions.regional_mean` reads the region's window
    256 steps at a time straight from Zarr (bounded memory, no task graph of thousands of
    chunks).
    """
    path = env.store.path(str(doc["assets"]["zarr"]["href"]))
    if not has_series(path):
        return da
    series = open_series(path, dask=False)
    if da.name not in series.data_vars:
        return da
    picked = select(series, datetime_text)[str(da.name)]
    return picked if picked.sizes == da.sizes else da


def area_mean(env: JobEnv, inputs: dict[str, Any]) -> Outputs:
    """Area-weighted mean series over a bbox, polygon or named region."""
    ds, doc = open_input(env, inputs["collection"])
    _gridded(ds, inputs["collection"])
    if not any(inputs.get(k) is not None for k in ("bbox", "region", "geometry")):
        raise InputError("inputs: give one of bbox, region or geometry")
    da = pick_variable(select(ds, inputs.get("datetime")), inputs.get("variable"))
    da = _series_shaped(env, doc, da, inputs.get("datetime"))
    env.report(0.05, "masking the area")
    bbox, geometry = inputs.get("bbox"), inputs.get("geometry")
    _label, mask = regions.region_mask(da, inputs.get("region"), bbox=bbox, geometry=geometry)
    n_cells = int(mask.sum())
    if n_cells == 0:
        raise InputError("inputs: the area holds no cell centre of the collection's grid")
    mean = regions.regional_mean(da, inputs.get("region"), bbox=bbox, geometry=geometry)
    mean = compute(env, mean, 0.1, 0.95, "averaging")
    label = str(mean.coords["region"].values) if "region" in mean.coords else ""
    if "time" not in mean.dims:
        mean = mean.expand_dims(time=[ds["time"].values[0]] if "time" in ds.coords else [0])
    return {
        "series": series_output(
            mean,
            collection=doc["id"],
            variable=str(da.name),
            region=label,
            n_cells=n_cells,
        )
    }


# -- trend ------------------------------------------------------------------------------------
def trend(env: JobEnv, inputs: dict[str, Any]) -> Outputs:
    """Trend of a series (or area mean), or a per-cell trend map."""
    ds, doc = open_input(env, inputs["collection"])
    da = pick_variable(select(ds, inputs.get("datetime")), inputs.get("variable"))
    area = inputs.get("bbox") is not None or inputs.get("region") is not None
    gridded = grid_kind(ds) != "none"
    if gridded and area:
        env.report(0.05, "area mean")
        da = regions.regional_mean(da, inputs.get("region"), bbox=inputs.get("bbox"))
    if inputs.get("month"):
        if not gridded or area:
            da = compute(env, da, 0.1, 0.4, "monthly means")
        step = resample.resample_time(da, "month") if _finer_than_monthly(da) else da
        da = resample.select_month(step, int(inputs["month"]))
    func = trends.sens_slope if inputs.get("method") == "sen" else trends.linear_trend
    result = func(
        da,
        per=inputs.get("per", "decade"),
        relative_to=_period(inputs.get("relative_to"), "relative_to"),
    )
    if gridded and not area:
        result = compute(env, result, 0.1, 0.85, "fitting trends per cell")
        return {
            "collection": publish_derived(
                env,
                process_id="trend",
                inputs=inputs,
                result=result,
                sources=[doc],
                title=f"Trend of {da.name} in {doc['title']}",
                description=f"Per-cell {inputs.get('method', 'ols')} trend per "
                f"{inputs.get('per', 'decade')} of {da.name} ({doc['id']}).",
            )
        }
    result = compute(env, result, 0.4, 0.95, "fitting the trend")
    return {
        "summary": {
            "collection": doc["id"],
            "variable": str(da.name),
            **trends.trend_summary(result),
        }
    }


def _finer_than_monthly(da: xr.DataArray) -> bool:
    if "time" not in da.dims or da.sizes["time"] < 2:
        return False
    step = (da["time"].values[1:] - da["time"].values[:-1]).astype("timedelta64[D]")
    return bool(float(step.astype("float64").min()) < 27)


# -- climatology and anomalies ------------------------------------------------------------------
def climatology(env: JobEnv, inputs: dict[str, Any]) -> Outputs:
    """Climatology of each calendar slot over the baseline."""
    ds, doc = open_input(env, inputs["collection"])
    da = pick_variable(ds, inputs.get("variable"))
    result = clim_mod.climatology(da, _period(inputs["baseline"], "baseline"))
    result = compute(env, result, 0.1, 0.85, "climatology")
    return {
        "collection": publish_derived(
            env,
            process_id="climatology",
            inputs=inputs,
            result=result.to_dataset(name=f"{da.name}_climatology"),
            sources=[doc],
            title=f"Climatology {inputs['baseline']} of {da.name} in {doc['title']}",
            description=f"Mean of each calendar slot of {da.name} over {inputs['baseline']}.",
        )
    }


def anomaly(env: JobEnv, inputs: dict[str, Any]) -> Outputs:
    """Anomalies against the baseline climatology."""
    ds, doc = open_input(env, inputs["collection"])
    da = pick_variable(ds, inputs.get("variable"))
    result = clim_mod.anomaly(
        da, baseline=_period(inputs["baseline"], "baseline"), kind=inputs.get("kind", "absolute")
    )
    if inputs.get("datetime"):
        result = select(result.to_dataset(name="a"), inputs["datetime"])["a"]
    result = compute(env, result, 0.1, 0.85, "anomalies")
    return {
        "collection": publish_derived(
            env,
            process_id="anomaly",
            inputs=inputs,
            result=result.to_dataset(name=f"{da.name}_anomaly"),
            sources=[doc],
            title=f"Anomalies of {da.name} against {inputs['baseline']}, {doc['title']}",
            description=f"{da.name} minus its {inputs['baseline']} climatology ({doc['id']}).",
        )
    }


# -- sea ice ----------------------------------------------------------------------------------
def sea_ice_extent(env: JobEnv, inputs: dict[str, Any]) -> Outputs:
    """Extent and area from concentration maps, or monthly means of an extent index."""
    ds, doc = open_input(env, inputs["collection"])
    ds = select(ds, inputs.get("datetime"))
    if "sic" in ds.data_vars:
        result = seaice.sea_ice_extent_area(ds, threshold=float(inputs.get("threshold", 0.15)))
        result = compute(env, result, 0.1, 0.95, "extent and area")
        series = {
            str(name): series_output(result[name])
            for name in result.data_vars
            if "time" in result[name].dims
        }
    elif "sea_ice_extent" in ds.data_vars:
        monthly = seaice.index_monthly_means(ds)
        monthly = compute(env, monthly, 0.1, 0.95, "monthly means")
        series = {"sea_ice_extent": series_output(monthly)}
    else:
        raise InputError(
            f"inputs.collection: {doc['id']} has neither sea-ice concentration nor extent"
        )
    first = next(iter(series.values()))
    return {
        "series": {
            "collection": doc["id"],
            "time": first["time"],
            "variables": {
                k: {"values": v["values"], "units": v["units"], "long_name": v["long_name"]}
                for k, v in series.items()
            },
        }
    }


# -- resampling, regridding, comparison, indicators ---------------------------------------------
def resample_(env: JobEnv, inputs: dict[str, Any]) -> Outputs:
    """Temporal resampling with a minimum valid fraction."""
    ds, doc = open_input(env, inputs["collection"])
    da = pick_variable(select(ds, inputs.get("datetime")), inputs.get("variable"))
    result = resample.resample_time(
        da,
        inputs.get("freq", "month"),
        statistic=inputs.get("statistic", "mean"),
        min_valid_fraction=float(inputs.get("min_valid_fraction", 0.5)),
    )
    result = compute(env, result, 0.1, 0.85, "resampling")
    return {
        "collection": publish_derived(
            env,
            process_id="resample",
            inputs=inputs,
            result=result.to_dataset(name=str(da.name)),
            sources=[doc],
            title=f"{inputs.get('statistic', 'mean')} per {inputs.get('freq', 'month')} of "
            f"{da.name}, {doc['title']}",
            description=f"Resampled {da.name} of {doc['id']}.",
        )
    }


def regrid_(env: JobEnv, inputs: dict[str, Any]) -> Outputs:
    """Regrid onto the grid of another collection."""
    ds, doc = open_input(env, inputs["collection"])
    target, target_doc = open_input(env, inputs["target"], "target")
    da = pick_variable(select(ds, inputs.get("datetime")), inputs.get("variable"))
    regridded = regrid.regrid(da, target, method=inputs.get("method", "conservative"))
    lazy = (
        regridded if isinstance(regridded, xr.Dataset) else regridded.to_dataset(name=str(da.name))
    )
    out = compute(env, lazy, 0.1, 0.85, "regridding")
    return {
        "collection": publish_derived(
            env,
            process_id="regrid",
            inputs=inputs,
            result=out,
            sources=[doc, target_doc],
            title=f"{da.name} of {doc['title']} on the grid of {target_doc['id']}",
            description=f"{inputs.get('method', 'conservative')} regridding of {doc['id']}.",
        )
    }


def compare_(env: JobEnv, inputs: dict[str, Any]) -> Outputs:
    """Bias, RMSD and correlation maps of A against B, plus a summary."""
    a_ds, a_doc = open_input(env, inputs["a"], "a")
    b_ds, b_doc = open_input(env, inputs["b"], "b")
    a = pick_variable(select(a_ds, inputs.get("datetime")), inputs.get("variable_a"), "variable_a")
    b = pick_variable(select(b_ds, inputs.get("datetime")), inputs.get("variable_b"), "variable_b")
    result = compare_mod.compare(a, b)
    result = compute(env, result, 0.1, 0.85, "comparing")
    return {
        "summary": {"a": a_doc["id"], "b": b_doc["id"], **compare_mod.summary(result)},
        "collection": publish_derived(
            env,
            process_id="compare",
            inputs=inputs,
            result=result,
            sources=[a_doc, b_doc],
            title=f"{a_doc['id']} against {b_doc['id']}: bias, RMSD, correlation",
            description=f"Intercomparison of {a.name} ({a_doc['id']}) "
            f"with {b.name} ({b_doc['id']}).",
        ),
    }


def indicator(env: JobEnv, inputs: dict[str, Any]) -> Outputs:
    """A climate indicator per period."""
    ds, doc = open_input(env, inputs["collection"])
    da = pick_variable(select(ds, inputs.get("datetime")), inputs.get("variable"))
    name = inputs["indicator"]
    freq = inputs.get("freq", "year")
    if name in ("days_over_threshold", "degree_days_over_threshold"):
        if not inputs.get("threshold"):
            raise InputError(f"inputs.threshold: required by {name}")
        func = getattr(ind_mod, name)
        op = inputs.get("op", ">")
        if name == "degree_days_over_threshold" and op not in (">", "<"):
            raise InputError("inputs.op: degree days take > or <")
        result = func(da, inputs["threshold"], op=op, freq=freq)
    else:
        result = ind_mod.period_statistic(da, inputs.get("statistic", "mean"), freq=freq)
    result = compute(env, result, 0.1, 0.85, name)
    return {
        "collection": publish_derived(
            env,
            process_id="indicator",
            inputs=inputs,
            result=result.to_dataset(name=name),
            sources=[doc],
            title=f"{name.replace('_', ' ')} of {da.name}, {doc['title']}",
            description=f"{name} ({freq}) of {da.name} in {doc['id']}.",
        )
    }


# -- subset to a file ---------------------------------------------------------------------------
def subset(env: JobEnv, inputs: dict[str, Any]) -> Outputs:
    """Write a subset to NetCDF in the hub's results folder."""
    ds, doc = open_input(env, inputs["collection"])
    names = inputs.get("variables") or None
    if names:
        for name in names:
            pick_variable(ds, name, "variables")
        ds = ds[names]
    ds = select(ds, inputs.get("datetime"), inputs.get("bbox"))
    ds.attrs = {**ds.attrs, **collection_attrs(doc)}
    folder = env.settings.resolved_home / "results" / (env.job_id or uuid.uuid4().hex)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{doc['id']}-subset.nc"
    partial = target.with_suffix(".nc.part")
    for var in ds.variables.values():
        var.encoding = {}
    delayed = ds.to_netcdf(partial, compute=False, engine="netcdf4")
    compute(env, delayed, 0.05, 0.95, "writing NetCDF", local=True)  # a file of this machine
    partial.replace(target)
    return {
        "file": {
            "name": target.name,
            "size": target.stat().st_size,
            "path": str(target.relative_to(env.settings.resolved_home)),
            "type": "application/x-netcdf",
        }
    }


RUNNERS: dict[str, Callable[[JobEnv, dict[str, Any]], Outputs]] = {
    "area_mean": area_mean,
    "trend": trend,
    "climatology": climatology,
    "anomaly": anomaly,
    "sea_ice_extent": sea_ice_extent,
    "resample": resample_,
    "regrid": regrid_,
    "compare": compare_,
    "indicator": indicator,
    "subset": subset,
}


def estimate(env: JobEnv, inputs: dict[str, Any]) -> int:
    """Estimate the decoded bytes a process reads (its inputs, after selection)."""
    total = 0
    for key, var_key in (("collection", "variable"), ("a", "variable_a"), ("b", "variable_b")):
        if key not in inputs:
            continue
        ds, _doc = open_input(env, inputs[key], key)
        bbox = inputs.get("bbox") if key == "collection" else None
        if key == "collection" and inputs.get("region") is None and inputs.get("geometry") is None:
            ds = select(ds, inputs.get("datetime"), bbox)
        else:
            ds = select(ds, inputs.get("datetime"))
        names = inputs.get("variables") or ([inputs[var_key]] if inputs.get(var_key) else None)
        total += input_bytes(ds, names)
    return total
