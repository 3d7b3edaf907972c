"""The operation registry a processing service lists and describes."""

from __future__ import annotations

import json
from typing import Any

import pytest
import xarray as xr

from spaceclimate.compute.operations import OPERATIONS, describe, describe_all
from spaceclimate.errors import NotFoundError
from tests import compute_samples as cs


def test_every_operation_is_described_for_a_process_list() -> None:
    described = describe_all()
    assert [d["id"] for d in described] == sorted(OPERATIONS)
    for entry in described:
        assert entry["summary"] and entry["inputs"], entry["id"]
        json.dumps(entry)  # plain values only
        assert all(not p["required"] for p in entry["parameters"] if p["name"] != "threshold")
    trend = describe("linear-trend")
    per = next(p for p in trend["parameters"] if p["name"] == "per")
    assert per["default"] == "decade" and per["enum"] == ["year", "decade"]
    with pytest.raises(NotFoundError, match="linear-trend"):
        describe("linear_trends")


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
    assert set(calls) == set(OPERATIONS)
    for name, (args, kwargs) in calls.items():
        out = OPERATIONS[name](*args, **kwargs)
        variables = out.data_vars.values() if isinstance(out, xr.Dataset) else [out]
        for var in variables:
            assert "units" in var.attrs and "long_name" in var.attrs, (name, var.name)
        record = json.loads(out.attrs["sco_operation"])
        assert record["operation"].startswith("spaceclimate.compute."), name
        assert "spaceclimate" in out.attrs["history"].splitlines()[-1], name
