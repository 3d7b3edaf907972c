"""In situ and reanalysis references: pooled beside the satellite records, counted apart.

Expected values come from independent reads of the bundled files (the csv module and
whitespace splitting for the tables, netCDF4 with its own CF scaling for ERA5).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import netCDF4
import numpy as np
import pytest
import xarray as xr

REFERENCES = {
    "noaa-ersst-v5": "in-situ",
    "scripps-noaa-mlo-co2": "in-situ",
    "noaa-gml-ch4-global": "in-situ",
    "epa-sea-level-csiro": "in-situ",
    "ecmwf-era5-conus-t2m": "reanalysis",
}


def _netcdf(api: Any, cid: str, **params: str) -> xr.Dataset:
    r = api.get(f"/download/{cid}", params={"format": "netcdf", **params})
    assert r.status_code == 200, r.text[:300]
    return xr.open_dataset(io.BytesIO(r.content), engine="h5netcdf").load()


def test_references_are_marked_and_counted_apart(api: Any) -> None:
    """Each collection says its kind; the landing page counts satellite records apart."""
    docs = api.get("/stac/collections", params={"limit": 1000}).json()["collections"]
    kinds = {d["id"]: d["sco:kind"] for d in docs if not d.get("sco:derived")}
    for cid, kind in REFERENCES.items():
        assert kinds[cid] == kind
        doc = next(d for d in docs if d["id"] == cid)
        assert kind in doc["keywords"]
    assert {k for c, k in kinds.items() if c not in REFERENCES} == {"satellite"}
    held = api.get("/").json()["sco:holdings"]
    assert held["satellite"]["collections"] == len(kinds) - len(REFERENCES)
    assert held["in-situ"]["collections"] == 4 and held["reanalysis"]["collections"] == 1
    satellite_ecvs = {d["sco:ecv"] for d in docs if d["id"] in kinds and d["id"] not in REFERENCES}
    assert held["satellite"]["ecvs"] == sorted(satellite_ecvs)
    assert "Scripps" not in held["satellite"]["agencies"]
    assert "ECMWF" in held["reanalysis"]["agencies"]


def test_mauna_loa_series_equals_the_source_table(api: Any, samples: Path) -> None:
    """Every month of the Keeling curve, missing months missing (-99.99 in the source)."""
    rows = []
    text = (samples / "counterparts" / "co2_noaa_mlo_monthly_insitu.csv").read_text()
    for row in csv.reader(line for line in text.splitlines() if not line.startswith('"')):
        cells = [c.strip() for c in row]
        if len(cells) == 10 and cells[0].isdigit():
            rows.append((int(cells[0]), int(cells[1]), float(cells[4])))
    ds = _netcdf(api, "scripps-noaa-mlo-co2")
    assert ds["co2"].attrs["units"] == "1e-6"
    assert ds["co2"].attrs["standard_name"] == "mole_fraction_of_carbon_dioxide_in_air"
    got = ds["co2"].to_series()
    assert len(got) == len(rows)
    for (year, month, value), (stamp, served) in zip(rows, got.items(), strict=True):
        assert (stamp.year, stamp.month) == (year, month)
        if value == -99.99:
            assert np.isnan(served)
        else:
            assert served == pytest.approx(value, abs=1e-4)
    march_1958 = got["1958-03"].item()
    assert march_1958 == pytest.approx(315.71)


def test_noaa_methane_series_equals_the_source_table(api: Any, samples: Path) -> None:
    text = (samples / "counterparts" / "ch4_noaa_gml_global_monthly_insitu.txt").read_text()
    rows = [line.split() for line in text.splitlines() if line.strip() and line[0] != "#"]
    ds = _netcdf(api, "noaa-gml-ch4-global")
    got = ds["ch4"].values
    assert got.shape == (len(rows),)
    np.testing.assert_allclose(got, [float(r[3]) for r in rows], rtol=0, atol=1e-3)
    first = ds["time_bnds"].values[0]
    assert str(first[0])[:10] == f"{rows[0][0]}-{int(rows[0][1]):02d}-01"


def test_era5_reanalysis_cell_equals_the_source(api: Any, samples: Path) -> None:
    """A point of the ERA5 2 m temperature equals netCDF4's own read of t2m."""
    with netCDF4.Dataset(samples / "counterparts" / "era5_sfc_conus_19950714T12.nc") as nc:
        lat, lon = nc["latitude"][:], nc["longitude"][:]
        j, i = 40, 100
        expected = float(nc["t2m"][j, i])
    want_lon = float(lon[i]) - 360.0 if float(lon[i]) >= 180 else float(lon[i])
    r = api.get(
        "/edr/collections/ecmwf-era5-conus-t2m/position",
        params={"coords": f"POINT({want_lon} {float(lat[j])})"},
    )
    assert r.status_code == 200, r.text[:300]
    value = r.json()["ranges"]["tas"]["values"][0]
    assert value == pytest.approx(expected, abs=1e-3)


def test_epa_indicator_feeds_an_in_situ_and_a_satellite_record(api: Any, samples: Path) -> None:
    """One CSV, two collections: tide gauges (in situ) and altimetry, inches to millimetres."""
    with (samples / "sea_level" / "gmsl_epa_csiro_noaa_annual_1880-2023.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    for cid, column, kind in (
        ("epa-sea-level-csiro", "CSIRO Adjusted Sea Level", "in-situ"),
        ("epa-sea-level-noaa", "NOAA Adjusted Sea Level", "satellite"),
    ):
        doc = api.get(f"/stac/collections/{cid}").json()
        assert doc["sco:kind"] == kind
        got = _netcdf(api, cid)["gmsl"]
        assert got.attrs["units"] == "mm"
        want = [float(r[column]) * 25.4 if r[column] else np.nan for r in rows]
        np.testing.assert_allclose(got.values, want, rtol=1e-6)
        assert [str(t)[:4] for t in got["time"].values] == [r["Year"] for r in rows]


def test_ozone_hole_indices_equal_the_source_tables(api: Any, samples: Path) -> None:
    """Yearly indices; 1995 missing; minimum ozone published in DU, stored in mol m-2."""
    for cid, name, var, factor in (
        ("nasa-ozonewatch-sh-hole-area", "hole_area", "ozone_hole_area", 1.0),
        ("nasa-ozonewatch-sh-min-ozone", "min_ozone", "toz_min", 4.4615e-4),
    ):
        text = (samples / "ozone" / f"o3_nasa_ozonewatch_sh_{name}_1979-2020.txt").read_text()
        rows = [ln.split() for ln in text.splitlines()[6:] if ln.strip()]
        got = _netcdf(api, cid)[var]
        want = [np.nan if float(r[1]) == -9999.0 else float(r[1]) * factor for r in rows]
        np.testing.assert_allclose(got.values, want, rtol=1e-6)
        assert np.isnan(got.sel(time="1995").item())
