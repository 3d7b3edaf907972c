"""The operation registry: every operation declared once, with typed inputs; and the pure
compute functions the operations call, each declaring units, names and provenance."""

from __future__ import annotations

import json
from typing import Any

import pytest
import xarray as xr

from spaceclimate.compute import (
    climatology,
    compare,
    indicators,
    regions,
    regrid,
    resample,
    seaice,
    trends,
)
from spaceclimate.compute.registry import get_operation, list_operations
from spaceclimate.errors import InputError, NotFoundError
from tests import compute_samples as cs

#: The pure functions behind the operations, by a name of their own.
FUNCTIONS = {
    "climatology": climatology.climatology,
    "anomaly": climatology.anomaly,
    "linear-trend": trends.linear_trend,
    "sens-slope": trends.sens_slope,
    "regional-mean": regions.regional_mean,
    "sea-ice-extent": seaice.sea_ice_extent_area,
    "sea-ice-index-monthly": seaice.index_monthly_means,
    "sea-ice-index-month": seaice.index_month_means,
    "resample": resample.resample_time,
    "regrid": regrid.regrid,
    "compare": compare.compare,
    "days-over-threshold": indicators.days_over_threshold,
    "degree-days-over-threshold": indicators.degree_days_over_threshold,
    "period-statistic": indicators.period_statistic,
}
BUILT_IN = {
    "area-mean",
    "trend",
    "anomaly",
    "climatology",
    "sea-ice-extent",
    "resample",
    "regrid",
    "compare",
    "indicator",
    "subset",
}


def test_every_operation_is_declared_once_with_typed_inputs() -> None:
    operations = list_operations()
    assert BUILT_IN <= set(operations)
    for op in operations.values():
        described = op.describe()
        json.dumps(described)  # plain values only
        assert op.title and op.description and op.outputs, op.id
        for name, spec in described["inputs"].items():
            assert spec["title"] and spec["description"], (op.id, name)
            assert "anyOf" not in spec["schema"], (op.id, name)  # optional inputs are plain
        kinds = {s["schema"].get("x-sco-kind") for s in described["inputs"].values()}
        assert "collection" in kinds, op.id
    trend = get_operation("trend").describe()["inputs"]
    assert trend["per"]["schema"]["default"] == "decade"
    assert trend["per"]["schema"]["enum"] == ["year", "decade"]
    assert trend["month"]["schema"]["minimum"] == 1 and not trend["month"]["required"]
    assert trend["relative_to"]["title"] == "Relative to the mean of"
    assert get_operation("sea-ice-extent").ecvs == ("sea_ice",)
    assert get_operation("anomaly").applies_to("soil_moisture")
    assert not get_operation("sea-ice-extent").applies_to("soil_moisture")
    with pytest.raises(NotFoundError, match="area-mean"):
        get_operation("area_means")


def test_inputs_are_validated_into_typed_values() -> None:
    trend = get_operation("trend")
    inputs = trend.validate({"collection": "x", "month": 9, "bbox": {"value": [0, 0, 1, 1]}})
    assert inputs.month == 9 and inputs.bbox == [0.0, 0.0, 1.0, 1.0]  # type: ignore[attr-defined]
    assert inputs.values() == {
        "collection": "x",
        "bbox": [0.0, 0.0, 1.0, 1.0],
        "method": "ols",
        "per": "decade",
        "autocorrelation": True,
        "month": 9,
    }
    cases = {
        "inputs.collection: required by trend": {"month": 9},
        "trend has no input 'colour'": {"collection": "x", "colour": "red"},
        "inputs.month": {"collection": "x", "month": 13},
        "inputs.method": {"collection": "x", "method": "magic"},
        "inputs.bbox": {"collection": "x", "bbox": [1, 2, 3]},
        "inputs.relative_to: expected start/end": {"collection": "x", "relative_to": "1981"},
    }
    for reason, raw in cases.items():
        with pytest.raises(InputError, match=reason.replace(".", r"\.")):
            trend.validate(raw)
    with pytest.raises(InputError, match="at most one of bbox, region, geometry"):
        get_operation("area-mean").validate(
            {"collection": "x", "bbox": [0, 0, 1, 1], "region": "NAO"}
        )
    with pytest.raises(InputError, match="inputs.threshold"):
        get_operation("sea-ice-extent").validate({"collection": "x", "threshold": float("nan")})


def _calls() -> dict[str, tuple[tuple[Any, ...], dict[str, Any]]]:
    gmsl = cs.harmonised(cs.GMSL)
    ersst = cs.harmonised(cs.ERSST).isel(lat=slice(40, 50), lon=slice(0, 20))
    ostia = cs.harmonised(cs.OSTIA_MONTHLY).sel(time="2010")
    daily = cs.harmonised(*cs.OSTIA_FILES).isel(lat=slice(360, 380), lon=slice(0, 40))
    nsidc = cs.harmonised(cs.NSIDC_N)
    return {
        "climatology": ((ersst,), {"baseline": ["2011", "2019"], "variable": "sst"}),
        "anomaly": ((ersst,), {"baseline": "2011/2019", "variable": "sst"}),
        "linear-trend": ((gmsl,), {"per": "year", "variable": "gmsl"}),
        "sens-slope": ((gmsl,), {"per": "decade", "variable": "gmsl"}),
        "regional-mean": ((ersst,), {"bbox": [-180, -10, -150, 10], "variable": "sst"}),
        "sea-ice-extent": ((cs.harmonised(cs.CDR_NH_MONTHLY),), {}),
        "sea-ice-index-monthly": ((nsidc,), {}),
        "sea-ice-index-month": ((nsidc,), {"month": 3}),
        "resample": ((gmsl,), {"freq": "year", "variable": "gmsl"}),
        "regrid": ((ostia, ersst), {"variable": "sst"}),
        "compare": ((ostia, cs.harmonised(cs.ERSST).sel(time="2010")), {}),
        "days-over-threshold": ((daily,), {"threshold": "29 degC", "variable": "sst"}),
        "degree-days-over-threshold": ((daily,), {"threshold": "29 degC", "variable": "sst"}),
        "period-statistic": ((daily,), {"statistic": "max", "variable": "sst"}),
    }


def test_every_operation_declares_units_names_and_provenance() -> None:
    calls = _calls()
    assert set(calls) == set(FUNCTIONS)
    for name, (args, kwargs) in calls.items():
        out = FUNCTIONS[name](*args, **kwargs)
        variables = out.data_vars.values() if isinstance(out, xr.Dataset) else [out]
        for var in variables:
            assert "units" in var.attrs and "long_name" in var.attrs, (name, var.name)
        record = json.loads(out.attrs["sco_operation"])
        assert record["operation"].startswith("spaceclimate.compute."), name
        assert "spaceclimate" in out.attrs["history"].splitlines()[-1], name
