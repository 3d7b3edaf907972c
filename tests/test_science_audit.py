"""What an independent re-reading of the sources found wrong, against independent figures.

- ``area-mean`` answered 400 ("projected grid without a 'crs' grid-mapping variable") on every
  projected collection: the series-shaped copy it reads held the values but not the grid's
  projection.
- A bbox crossing the antimeridian (west > east) answered 400.
- Trend uncertainties ignored autocorrelation (GRACE: lag-1 0.83, an interval a third of
  what the residuals allow); the effective sample size is now the default, and said.
- On a cell edge, the EDR's nearest cell differed from the map's and from
  ``sel(method="nearest")``: one rule now (cells are half-open, a point on an edge belongs to
  the cell that starts there).

Each value is recomputed here from the source files with numpy, pyproj and shapely.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import netCDF4
import numpy as np
import pyproj
import pytest
import xarray as xr

from spaceclimate.render.grids import cell_edges, lookup

PROJECTED = (
    "nsidc-seaice-cdr-nh-monthly",
    "nsidc-seaice-cdr-sh-monthly",
    "nsidc-seaice-cdr-nh-daily",
    "nasa-modis-snow-mod10a2",
    "nasa-modis-landcover-mcd12q1",
)


def _area_mean(url: str, **inputs: object) -> dict[str, object]:
    r = httpx.post(f"{url}/processes/area-mean/execution", json={"inputs": inputs}, timeout=120)
    assert r.status_code == 200, r.text
    series: dict[str, object] = r.json()["series"]
    return series


@pytest.mark.parametrize("collection", PROJECTED)
def test_area_mean_on_every_projected_collection(live_hub: str, collection: str) -> None:
    doc = httpx.get(f"{live_hub}/stac/collections/{collection}").json()
    w, s, e, n = doc["extent"]["spatial"]["bbox"][0]
    series = _area_mean(live_hub, collection=collection, bbox=[w, s, e, n])
    values = np.asarray(series["values"], dtype="float64")  # type: ignore[arg-type]
    assert values.size >= 1 and np.isfinite(values).all()
    assert 0 < series["n_cells"] <= series["n_cells_in_area"]  # type: ignore[operator]


def _cdr_independent(path: Path, south: float) -> tuple[float, int]:
    """Area-weighted mean concentration of the CDR map over cells centred north of *south*.

    Cell areas are geodesic areas of each cell's corners on the WGS 84 ellipsoid (the corners
    projected back from the grid's own polar stereographic definition); flagged cells (pole
    hole, lakes, coast, land, missing) hold no concentration.
    """
    with netCDF4.Dataset(path) as nc:
        nc.set_auto_maskandscale(False)
        raw = np.asarray(nc.variables["cdr_seaice_conc_monthly"][0])
        x = np.asarray(nc.variables["xgrid"][:], dtype="float64")
        y = np.asarray(nc.variables["ygrid"][:], dtype="float64")
        proj = nc.variables["projection"].getncattr("proj4text")
    to_lonlat = pyproj.Transformer.from_crs(pyproj.CRS(proj), "EPSG:4326", always_xy=True)
    half = 12_500.0  # a 25 km grid
    xx, yy = np.meshgrid(x, y)
    _lon, lat = to_lonlat.transform(xx, yy)
    corners = [(-half, -half), (half, -half), (half, half), (-half, half)]
    lons, lats = zip(*(to_lonlat.transform(xx + dx, yy + dy) for dx, dy in corners), strict=True)
    geod = pyproj.Geod(ellps="WGS84")
    area = np.empty(xx.shape)
    for idx in np.ndindex(xx.shape):
        poly_lon = [c[idx] for c in lons]
        poly_lat = [c[idx] for c in lats]
        area[idx] = abs(geod.polygon_area_perimeter(poly_lon, poly_lat)[0])
    valid = raw <= 100
    inside = lat >= south
    ok = valid & inside
    conc = raw.astype("float64") * 0.01
    return float((conc[ok] * area[ok]).sum() / area[ok].sum()), int(ok.sum())


def test_cdr_arctic_december_2021_mean_north_of_60(live_hub: str, samples: Path) -> None:
    """The CDR Arctic December 2021 concentration over true cell areas north of 60° N."""
    series = _area_mean(
        live_hub, collection="nsidc-seaice-cdr-nh-monthly", bbox=[-180, 60, 180, 90]
    )
    expected, cells = _cdr_independent(
        samples / "sea_ice" / "seaice_conc_cdr_v4_monthly_nh_202112.nc", 60.0
    )
    assert series["values"] == [pytest.approx(expected, rel=1e-6)]
    assert series["n_cells"] == cells  # the cells holding a concentration, not the box's
    assert 0.5 < expected < 0.8


def test_area_mean_across_the_antimeridian(live_hub: str, samples: Path) -> None:
    """ERSST over 170° E to 170° W, 10° S to 10° N: a box whose west is east of its east."""
    series = _area_mean(
        live_hub,
        collection="noaa-ersst-v5",
        bbox=[170, -10, -170, 10],
        datetime="2010-01-01T00:00:00Z/2010-03-31T00:00:00Z",
    )
    with netCDF4.Dataset(samples / "counterparts" / "ersst_v5_monthly_2010-2020_insitu.nc") as nc:
        sst = np.ma.filled(nc.variables["sst"][:3].astype("float64"), np.nan)
        lat = np.asarray(nc.variables["lat"][:], dtype="float64")
        lon = np.asarray(nc.variables["lon"][:], dtype="float64")
    if sst.ndim == 4:  # (time, level, lat, lon)
        sst = sst[:, 0]
    lon = np.where(lon >= 180, lon - 360, lon)
    inside_lon = (lon >= 170) | (lon <= -170)
    inside_lat = (lat >= -10) & (lat <= 10)
    lat2, _ = np.meshgrid(lat, lon, indexing="ij")
    inside = np.outer(inside_lat, inside_lon)
    # exact spherical cell areas of a regular 2° grid: sin(lat + 1°) - sin(lat - 1°)
    weight = np.sin(np.deg2rad(lat2 + 1)) - np.sin(np.deg2rad(lat2 - 1))
    expected = []
    for step in sst:
        ok = inside & np.isfinite(step)
        expected.append(float((step[ok] * weight[ok]).sum() / weight[ok].sum()) + 273.15)
    np.testing.assert_allclose(series["values"], expected, rtol=0, atol=1e-4)
    assert series["n_cells_in_area"] == int(inside.sum())


@pytest.mark.parametrize(
    ("lon", "lat"), [(-30.0, 40.0), (-30.0, 40.1), (12.5, -41.25), (12.4, -41.1)]
)
def test_edr_point_is_the_cell_the_map_and_xarray_pick(
    live_hub: str, lon: float, lat: float
) -> None:
    """The README's own point (-30, 40) lies on the corner of four OSTIA cells."""
    cid = "ukmo-ostia-sst-daily"
    r = httpx.get(
        f"{live_hub}/edr/collections/{cid}/position",
        params={"coords": f"POINT({lon} {lat})", "parameter-name": "sst"},
    )
    assert r.status_code == 200, r.text
    cov = r.json()
    shown = cov["ranges"]["sst"]["values"]
    cube = xr.open_zarr(f"{live_hub}/zarr/{cid}")
    by_sel = cube["sst"].sel(lon=lon, lat=lat, method="nearest")
    np.testing.assert_allclose(shown, by_sel.values, rtol=0, atol=1e-4)
    # the map's rule: the cell whose half-open edges hold the point
    row, _ = lookup(cell_edges(cube, "lat"), np.array([lat]))
    col, _ = lookup(cell_edges(cube, "lon"), np.array([lon]))
    by_map = cube["sst"].isel(lat=int(row[0]), lon=int(col[0]))
    np.testing.assert_allclose(shown, by_map.values, rtol=0, atol=1e-4)
    assert cov["domain"]["axes"]["x"]["values"] == [pytest.approx(float(by_map.lon))]


def test_trend_uncertainty_counts_autocorrelation_by_default(live_hub: str, samples: Path) -> None:
    """GRACE Antarctica 2002-2021: least squares on the source file, with lag-1 n_eff."""
    r = httpx.post(
        f"{live_hub}/processes/trend/execution",
        json={"inputs": {"collection": "nasa-grace-ice-mass-antarctica", "per": "year"}},
        timeout=120,
    )
    assert r.status_code == 200, r.text
    summary = r.json()["summary"]
    assert summary["uncertainty"].startswith("effective sample size")
    rows = [
        line.split()
        for line in (samples / "ice_sheets" / "grace_antarctica_mass_200204_202112.txt")
        .read_text()
        .splitlines()
        if line.strip() and not line.startswith("HDR")
    ]
    years = np.array([float(r[0]) for r in rows])
    mass = np.array([float(r[1]) for r in rows])
    slope, intercept = np.polyfit(years, mass, 1)
    resid = mass - (slope * years + intercept)
    r1 = float(np.sum(resid[1:] * resid[:-1]) / np.sum(resid**2))
    n = len(mass)
    n_eff = n * (1 - r1) / (1 + r1)
    stderr = np.sqrt(np.sum(resid**2) / (n_eff - 2) / np.sum((years - years.mean()) ** 2))
    # the hub's times are the stamps decoded to dates: decimal years agree to a day
    assert summary["slope"] == pytest.approx(slope, rel=1e-3)
    assert summary["lag1_autocorrelation"] == pytest.approx(r1, abs=1e-3)
    assert summary["n_eff"] == pytest.approx(n_eff, rel=1e-2)
    assert summary["stderr"] == pytest.approx(stderr, rel=1e-2)
    # the producer's header: -152.00 +/- 39.00 Gt/yr (1 sigma, with GIA and annual terms)
    assert abs(summary["slope"] - -152.0) < 39.0
    plain = httpx.post(
        f"{live_hub}/processes/trend/execution",
        json={
            "inputs": {
                "collection": "nasa-grace-ice-mass-antarctica",
                "per": "year",
                "autocorrelation": False,
            }
        },
        timeout=120,
    ).json()["summary"]
    assert plain["uncertainty"].startswith("independent residuals")
    assert summary["stderr"] > 3 * plain["stderr"]
