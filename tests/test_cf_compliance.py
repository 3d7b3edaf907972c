"""NetCDF downloads of every bundled collection are CF-1.10 and ACDD-1.3 compliant.

Each collection's download (a bbox subset of the middle of a gridded collection, the whole
of a gridless series) goes through IOOS compliance-checker (``cf:1.10`` and ``acdd``, its
Python API, offline: the hub declares the standard-name table the checker packages) and
then through direct reads with netCDF4 and xarray, so that a regression names itself.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any

import netCDF4
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from compliance_checker.base import BaseCheck
from compliance_checker.suite import CheckSuite

from .sourcedata import BUNDLED_COLLECTIONS

#: The checker's score criteria ("normal": high and medium priority checks, its default).
CRITERIA = BaseCheck.MEDIUM
ACDD_MIN = 0.90
#: Collections whose metadata cannot reach ACDD_MIN today, with the score they keep and why.
#: Every point they miss is one the hub has no true value for: no CF standard name exists
#: for the quantity, the quantity has no single vertical level (columns, heights), a series
#: of area means has no lat/lon variable for the checker to compare the extent with, the
#: source files and their documents name no creator e-mail or URL, no project or no
#: temporal extent. No download names a publisher e-mail: the publisher is the hub.
ACDD_KNOWN = {
    "cnes-cls-mss": (0.75, "static mean surface: no time coverage, height: no vertical level"),
    "csiro-gmsl-altimetry": (0.81, "area-mean series; sea level change has no level"),
    "cnes-nasa-jason1-gdr-ssha": (
        0.87,
        "sea level anomaly: a height, no vertical level; no e-mail",
    ),
    "noaa-gml-ch4-global": (0.84, "global-mean series: no lat/lon variable, no vertical level"),
    "scripps-noaa-mlo-co2": (0.84, "station series: no lat/lon variable, no vertical level"),
    "epa-sea-level-csiro": (0.80, "global-mean series: no lat/lon variable, no level, no e-mail"),
    "epa-sea-level-noaa": (0.80, "global-mean series: no lat/lon variable, no level, no e-mail"),
    "esa-cci-aerosol-atsr2-adv": (0.87, "a column property: no vertical level"),
    "eumetsat-sentinel6-p4-l2-ssha": (0.87, "sea level anomaly: a height, no level; no e-mail"),
    "nasa-aura-mls-co": (0.86, "profiles: levels vary, no single vertical extent; no e-mail"),
    "nasa-firms-modis-c6-fires": (0.84, "fire radiative power has no standard name; no level"),
    "nasa-oco2-xco2-california": (0.87, "a column: no vertical level; no e-mail in the extract"),
    "nasa-ozonewatch-sh-hole-area": (0.78, "index series: no lat/lon, no standard name, no level"),
    "nasa-ozonewatch-sh-min-ozone": (0.78, "index series: no lat/lon, no standard name, no level"),
    "esa-cci-oc-iop-adg": (0.89, "optical layer: no vertical level"),
    "esa-cci-ozone-tc": (0.88, "total column: no vertical level; sd has no standard name"),
    "esa-olci-c2rcc-north-sea": (0.84, "optical layer: no vertical level; no time resolution"),
    "nasa-grace-ice-mass-antarctica": (0.77, "area-mean series without standard names"),
    "nasa-grace-ice-mass-greenland": (0.77, "area-mean series without standard names"),
    "nasa-ssh-simple-grid": (0.87, "sea level anomaly: a height, no vertical level"),
    "nsidc-sea-ice-index-north": (0.88, "area series: no lat/lon variable, no project"),
    "nsidc-sea-ice-index-south": (0.88, "area series: no lat/lon variable, no project"),
    "rutgers-snow-cover-extent": (0.84, "area series: no lat/lon variable, no standard name"),
}
#: A defect of compliance-checker 6.1: its CF 1.7+ table lists the sinusoidal projection's
#: required attribute as a bare string, so it asks for one attribute per letter of
#: "longitude_of_projection_origin". The file holds the attributes CF 1.10 names (checked
#: directly in test_grid_mappings_hold_cf_parameters).
CHECKER_DEFECTS = (re.compile(r"^\S is a required attribute for grid mapping sinusoidal$"),)
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
#: Subsets of the sinusoidal tiles, whose lon/lat bbox (the tile's corners reach the
#: antimeridian) is mostly outside them: a box around the tile's centre.
TILE_BOXES = {
    "nasa-modis-landcover-mcd12q1": "-176.5,4,-175,6",
    "nasa-modis-snow-mod10a2": "-105,34,-102.5,36",
}


@dataclass
class Report:
    """One collection's download and what the checker made of it."""

    collection: str
    params: dict[str, str]
    content: bytes
    cf_failures: list[str]
    cf_errors: list[str]
    acdd_score: float


def _params(doc: dict[str, Any]) -> dict[str, str]:
    """The middle half of a gridded collection's bbox (a subset), nothing for a series."""
    if doc["id"] in TILE_BOXES:
        return {"format": "netcdf", "bbox": TILE_BOXES[doc["id"]]}
    if not any(d.get("type") == "spatial" for d in (doc.get("cube:dimensions") or {}).values()):
        return {"format": "netcdf"}
    west, south, east, north = doc["extent"]["spatial"]["bbox"][0]
    dx, dy = (east - west) / 4, (north - south) / 4
    box = (west + dx, south + dy, east - dx, north - dy)
    return {"format": "netcdf", "bbox": ",".join(f"{v:.4f}" for v in box)}


def _failures(suite: CheckSuite, name: str, results: Any, path: str) -> list[str]:
    scored = suite.build_structure(name, results, path, CRITERIA)
    out = []
    for result in scored["high_priorities"]:
        if result.value[0] >= result.value[1]:
            continue
        msgs = [m for m in result.msgs if not any(p.match(m) for p in CHECKER_DEFECTS)]
        if msgs or not result.msgs:
            out.append(f"{result.name}: {msgs}")
    return out


@pytest.fixture(scope="module")
def reports(
    api: Any, tmp_path_factory: pytest.TempPathFactory, monkeypatch_module: pytest.MonkeyPatch
) -> dict[str, Report]:
    """Download every collection's NetCDF once and run the checker on it."""
    # the checker may try to fetch a standard-name table it does not package: fail fast
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch_module.setenv(var, "http://127.0.0.1:9")
    suite = CheckSuite()
    suite.load_all_available_checkers()
    folder = tmp_path_factory.mktemp("cf")
    out: dict[str, Report] = {}
    for entry in api.get("/download").json()["collections"]:
        cid = entry["id"]
        params = _params(api.get(f"/stac/collections/{cid}").json())
        r = api.get(f"/download/{cid}", params=params)
        assert r.status_code == 200, f"{cid}: {r.text[:300]}"
        path = folder / f"{cid}.nc"
        path.write_bytes(r.content)
        ds = suite.load_dataset(str(path))
        try:
            groups = suite.run_all(ds, ["cf:1.10", "acdd"], skip_checks=[])
        finally:
            ds.close()
        cf_results, cf_errors = groups["cf:1.10"]
        acdd_results, _ = groups["acdd"]
        acdd = suite.build_structure("acdd", acdd_results, str(path), CRITERIA)
        out[cid] = Report(
            cid,
            params,
            r.content,
            _failures(suite, "cf:1.10", cf_results, str(path)),
            [f"{name}: {exc!r}" for name, (exc, _) in cf_errors.items()],
            acdd["scored_points"] / acdd["possible_points"],
        )
    return out


@pytest.fixture(scope="module")
def monkeypatch_module() -> Any:
    """A monkeypatch that lasts the module (environment of the checker runs)."""
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def test_every_collection_is_checked(reports: dict[str, Report]) -> None:
    assert len(reports) == BUNDLED_COLLECTIONS
    assert set(ACDD_KNOWN) <= set(reports)


def test_no_high_priority_cf_failure(reports: dict[str, Report]) -> None:
    failures = [f"{cid}: {f}" for cid, rep in reports.items() for f in rep.cf_failures]
    errors = [f"{cid}: {e}" for cid, rep in reports.items() for e in rep.cf_errors]
    assert not failures, "high-priority CF failures:\n" + "\n".join(failures)
    assert not errors, "CF checks that crashed:\n" + "\n".join(errors)


def test_acdd_score(reports: dict[str, Report]) -> None:
    low = []
    for cid, rep in reports.items():
        floor = ACDD_KNOWN.get(cid, (ACDD_MIN, ""))[0]
        if rep.acdd_score < floor:
            low.append(f"{cid}: {rep.acdd_score:.1%} < {floor:.0%}")
    assert not low, "ACDD scores too low:\n" + "\n".join(low)
    reached = [cid for cid, rep in reports.items() if rep.acdd_score >= ACDD_MIN]
    # 12 gridded products and series, 4 binned level-2 products, ERA5
    assert len(reached) >= 17
    # a collection that reaches the bar leaves ACDD_KNOWN
    assert not [cid for cid in ACDD_KNOWN if cid in reached], "reached ACDD_MIN: unpin them"


def _nc(rep: Report) -> netCDF4.Dataset:
    return netCDF4.Dataset(f"{rep.collection}.nc", memory=rep.content)


def test_coordinates_and_bounds_have_no_fill_value(reports: dict[str, Report]) -> None:
    for cid, rep in reports.items():
        with _nc(rep) as nc:
            assert "coordinates" not in nc.ncattrs(), cid
            bounds = {v.bounds for v in nc.variables.values() if "bounds" in v.ncattrs()}
            coords = {name for name in nc.variables if name in nc.dimensions}
            for name in bounds | coords | {"time", "time_bnds"}:
                if name in nc.variables:
                    assert "_FillValue" not in nc[name].ncattrs(), f"{cid}: {name}"
            assert "time" not in nc.variables or "time_bnds" in nc.variables, cid


def test_typed_attributes_have_the_variable_dtype(reports: dict[str, Report]) -> None:
    seen = set()
    for cid, rep in reports.items():
        with _nc(rep) as nc:
            for name, var in nc.variables.items():
                for attr in ("valid_min", "valid_max", "valid_range", "flag_values"):
                    if attr in var.ncattrs():
                        value = np.asarray(var.getncattr(attr))
                        assert value.dtype == var.dtype, f"{cid}: {name}.{attr} {value.dtype}"
                        seen.add(attr)
    assert {"valid_min", "valid_max", "flag_values"} <= seen
    land = reports["nasa-modis-landcover-mcd12q1"]
    with _nc(land) as nc:
        flags = nc["land_cover_class"].flag_values
        assert flags.dtype == np.float32 and flags.tolist() == list(range(1, 18))


def test_variables_carry_acdd_and_cf_names(reports: dict[str, Report]) -> None:
    kinds = set()
    for cid, rep in reports.items():
        with xr.open_dataset(io.BytesIO(rep.content), engine="h5netcdf") as ds:
            for name, var in ds.data_vars.items():
                if str(name).endswith("_bnds"):
                    continue
                assert "long_name" in var.attrs, f"{cid}: {name}"
                if name != "crs":
                    kinds.add(var.attrs["coverage_content_type"])
            for name in ("lat", "lon"):
                if name in ds.variables:
                    assert ds[name].attrs["long_name"] in ("latitude", "longitude"), cid
    assert {"physicalMeasurement", "qualityInformation", "thematicClassification"} <= kinds


def test_grid_mappings_hold_cf_parameters(reports: dict[str, Report]) -> None:
    expected = {
        "nsidc-seaice-cdr-nh-monthly": ("polar_stereographic", "latitude_of_projection_origin", 90),
        "nsidc-seaice-cdr-sh-monthly": (
            "polar_stereographic",
            "latitude_of_projection_origin",
            -90,
        ),
        "nasa-modis-snow-mod10a2": ("sinusoidal", "longitude_of_central_meridian", 0),
        "nasa-modis-landcover-mcd12q1": ("sinusoidal", "longitude_of_central_meridian", 0),
    }
    for cid, (mapping, attr, value) in expected.items():
        with _nc(reports[cid]) as nc:
            crs = nc["crs"]
            assert crs.grid_mapping_name == mapping and crs.long_name, cid
            assert float(crs.getncattr(attr)) == value, cid
            assert "false_easting" in crs.ncattrs() and "false_northing" in crs.ncattrs()


def test_extents_describe_the_subset_served(reports: dict[str, Report]) -> None:
    for cid, rep in reports.items():
        with _nc(rep) as nc:
            if "time" in nc.variables:
                times = netCDF4.num2date(nc["time"][:], nc["time"].units, nc["time"].calendar)
                first, last = (pd.Timestamp(str(t)).strftime(TIME_FORMAT) for t in times[[0, -1]])
                assert (nc.time_coverage_start, nc.time_coverage_end) == (first, last), cid
            if "bbox" not in rep.params:
                continue
            lat = np.asarray(nc["lat"][:], dtype="float64")
            lon = np.asarray(nc["lon"][:], dtype="float64")
            got = [nc.geospatial_lat_min, nc.geospatial_lat_max]
            got += [nc.geospatial_lon_min, nc.geospatial_lon_max]
            want = [np.nanmin(lat), np.nanmax(lat), np.nanmin(lon), np.nanmax(lon)]
            np.testing.assert_allclose(got, want, err_msg=cid)
            assert nc.geospatial_bounds.startswith("POLYGON((") and nc.geospatial_bounds_crs
    # a middle-latitude window of a global grid: no more the whole -90..90
    ostia = reports["ukmo-ostia-sst-daily"]
    box = [float(v) for v in ostia.params["bbox"].split(",")]
    with _nc(ostia) as nc:
        assert box[1] - 0.25 <= nc.geospatial_lat_min < nc.geospatial_lat_max <= box[3] + 0.25
        assert nc.geospatial_lat_resolution == "0.25 degrees_north"


def test_text_coordinates_are_character_arrays(reports: dict[str, Report]) -> None:
    rep = reports["rutgers-snow-cover-extent"]
    with _nc(rep) as nc:
        assert nc["region"].dtype == np.dtype("S1") and nc["region"].ndim == 2
    with xr.open_dataset(io.BytesIO(rep.content), engine="h5netcdf") as ds:
        assert ds["region"].dims == ("region",)
        assert str(ds["region"].values[0]) == "northern_hemisphere"


def test_global_attributes_come_from_the_collection(api: Any, reports: dict[str, Report]) -> None:
    rep = reports["nsidc-seaice-cdr-nh-monthly"]
    doc = api.get("/stac/collections/nsidc-seaice-cdr-nh-monthly").json()
    with _nc(rep) as nc:
        assert nc.Conventions == "CF-1.10, ACDD-1.3"
        assert nc.title == doc["title"] and nc.summary == doc["description"]
        # the producer named by the recipe, reached as the source files say
        assert nc.creator_name == "National Snow and Ice Data Center (NSIDC)"
        assert nc.creator_url == "http://nsidc.org/" and nc.creator_email == "nsidc@nsidc.org"
        assert nc.creator_type == "institution"
        assert nc.project.startswith("NOAA/NSIDC passive microwave sea ice concentration")
        assert nc.contributor_name == "NOAA" and nc.contributor_role == "licensor"
        assert nc.publisher_url == "http://testserver"
        assert nc.standard_name_vocabulary.startswith("CF Standard Name Table v")
        assert nc.geospatial_vertical_positive == "up"
        assert nc.platform == "DMSP" and nc.instrument == "SSMIS"
