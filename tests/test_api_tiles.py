"""XYZ tiles: pixels checked against the cube values and matplotlib's colour maps, computed here
independently (Web Mercator maths, nearest cells by distance, pyproj for the polar grids)."""

from __future__ import annotations

import io
import json
import math
import warnings
from pathlib import Path
from typing import Any

import httpx
import matplotlib
import numpy as np
import pytest
import xarray as xr
from PIL import Image
from pyproj import CRS, Transformer

from spaceclimate.catalog import open_catalog
from spaceclimate.config import Settings
from spaceclimate.store import CubeLocation, open_store

from .profile import hub_settings

OSTIA = "ukmo-ostia-sst-daily"
ARCTIC = "nsidc-seaice-cdr-nh-monthly"
ANTARCTIC = "nsidc-seaice-cdr-sh-monthly"
OSTIA_RANGE = (271.0, 305.0)


@pytest.fixture(scope="module")
def settings(hub_home: Path) -> Settings:
    return hub_settings(hub_home)


def cube_of(settings: Settings, collection_id: str) -> tuple[CubeLocation, str]:
    catalog = open_catalog(settings.resolved_catalog_url)
    try:
        href = catalog.get_collection(collection_id)["assets"]["zarr"]["href"]
    finally:
        catalog.close()
    return open_store(settings).path(href), href  # a folder, or a prefix in an object store


def decode(response: Any) -> np.ndarray:
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "PNG" and image.mode == "RGBA" and image.size == (256, 256)
    return np.asarray(image)


def pixel_lonlat(z: int, x: int, y: int) -> tuple[np.ndarray, np.ndarray]:
    """Lon/lat of every pixel centre of a tile, as (256, 256) arrays (row 0 = north)."""
    n = 2**z
    frac = (np.arange(256) + 0.5) / 256
    lon = (x + frac) / n * 360 - 180
    lat = np.degrees(np.arctan(np.sinh(np.pi * (1 - 2 * (y + frac) / n))))
    return np.meshgrid(lon, lat)


def nearest(centres: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest centre of each value and whether it lies within half a cell."""
    idx = np.abs(values[..., None] - centres).argmin(axis=-1)
    half = np.abs(np.diff(centres)).max() / 2
    return idx, np.abs(centres[idx] - values) <= half + 1e-9


def expected_rgb(values: np.ndarray, cmap_name: str, vmin: float, vmax: float) -> np.ndarray:
    """Colours of *values* by matplotlib, and the two neighbouring table colours (rounding)."""
    cmap = matplotlib.colormaps[cmap_name]
    norm = (values.astype("float64") - vmin) / (vmax - vmin)
    return np.stack(
        [np.asarray(cmap(norm + d / 256, bytes=True))[..., :3] for d in (0.0, -1.0, 1.0)]
    )


def check_pixels(
    rgba: np.ndarray, values: np.ndarray, cmap: str, vmin: float, vmax: float
) -> tuple[int, int]:
    """Assert transparency matches NaN and colours match; return (#data, #transparent)."""
    has_data = np.isfinite(values)
    assert np.array_equal(rgba[..., 3] == 255, has_data)
    assert (rgba[..., 3][~has_data] == 0).all()
    choices = expected_rgb(np.where(has_data, values, vmin), cmap, vmin, vmax)
    ok = (choices == rgba[None, ..., :3]).all(axis=-1).any(axis=0)
    assert ok[has_data].all(), f"{(~ok[has_data]).sum()} pixels of wrong colour"
    return int(has_data.sum()), int((~has_data).sum())


def latlon_expected(ds: xr.Dataset, var: str, z: int, x: int, y: int, t: int) -> np.ndarray:
    lon, lat = pixel_lonlat(z, x, y)
    col, col_ok = nearest(ds["lon"].values, lon)
    row, row_ok = nearest(ds["lat"].values, lat)
    data = ds[var].isel(time=t).values
    return np.where(col_ok & row_ok, data[row, col], np.nan)


def test_ocean_tile_matches_cube_and_colour_map(api: Any, settings: Settings) -> None:
    cube, _href = cube_of(settings, OSTIA)
    ds = xr.open_zarr(cube)
    rgba = decode(api.get(f"/tiles/{OSTIA}/sst/2/0/1.png"))  # North Pacific and America
    values = latlon_expected(ds, "sst", 2, 0, 1, t=-1)  # default: the latest time step
    n_data, n_empty = check_pixels(rgba, values, "RdYlBu_r", *OSTIA_RANGE)
    assert n_data > 20_000 and n_empty > 5_000  # ocean and land both present
    # named pixels: mid Pacific (34.7 N, 165.8 W) is ocean, the Canadian prairies are land
    assert rgba[150, 40, 3] == 255 and rgba[60, 200, 3] == 0
    v = float(ds["sst"].isel(time=-1).sel(lat=34.74, lon=-165.76, method="nearest"))
    mpl = matplotlib.colormaps["RdYlBu_r"]((v - 271.0) / 34.0, bytes=True)[:3]
    assert abs(np.asarray(mpl, dtype=int) - rgba[150, 40, :3].astype(int)).max() <= 8


def test_datetime_colormap_and_rescale(api: Any, settings: Settings) -> None:
    cube, _href = cube_of(settings, OSTIA)
    ds = xr.open_zarr(cube)
    query = {"datetime": "2017-06-05T20:00:00Z", "colormap": "viridis", "rescale": "280,300"}
    rgba = decode(api.get(f"/tiles/{OSTIA}/sst/2/0/1.png", params=query))
    check_pixels(rgba, latlon_expected(ds, "sst", 2, 0, 1, t=0), "viridis", 280.0, 300.0)
    anomaly = decode(
        api.get(f"/tiles/{OSTIA}/sst_anomaly/2/0/1.png", params={"datetime": "2017-06-06"})
    )
    check_pixels(anomaly, latlon_expected(ds, "sst_anomaly", 2, 0, 1, t=1), "RdBu_r", -4.0, 4.0)


def polar_expected(ds: xr.Dataset, z: int, x: int, y: int) -> np.ndarray:
    lon, lat = pixel_lonlat(z, x, y)
    crs = CRS.from_wkt(ds["crs"].attrs["crs_wkt"])
    px, py = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(lon, lat)
    col, col_ok = nearest(ds["x"].values, np.asarray(px))
    row, row_ok = nearest(ds["y"].values, np.asarray(py))
    data = ds["sic"].isel(time=0).values
    return np.where(col_ok & row_ok, data[row, col], np.nan)


def test_arctic_and_antarctic_sea_ice_tiles(api: Any, settings: Settings) -> None:
    for cid, tiles in ((ARCTIC, [(1, 0, 0), (1, 1, 0), (2, 2, 0)]), (ANTARCTIC, [(1, 0, 1)])):
        cube, _href = cube_of(settings, cid)
        ds = xr.open_zarr(cube)
        for z, x, y in tiles:
            rgba = decode(api.get(f"/tiles/{cid}/sic/{z}/{x}/{y}.png"))
            n_data, _ = check_pixels(rgba, polar_expected(ds, z, x, y), "Blues_r", 0.0, 1.0)
            assert n_data > 2_000, (cid, z, x, y)
    # z=1 NW tile: the central Arctic (top rows) is ice-covered in December; Greenland is land
    rgba = decode(api.get(f"/tiles/{ARCTIC}/sic/1/0/0.png"))
    top = rgba[:8][rgba[:8, :, 3] == 255]
    assert len(top) > 500 and top[:, :3].mean() > 220  # near-white: concentration ~ 1
    lon, lat = pixel_lonlat(1, 0, 0)
    greenland = (np.abs(lon + 40) < 1) & (np.abs(lat - 75) < 0.5)
    assert greenland.any() and (rgba[..., 3][greenland] == 0).all()


def test_tiles_outside_the_data_are_transparent(api: Any) -> None:
    for url in (
        f"/tiles/{ARCTIC}/sic/1/0/1.png",  # southern hemisphere
        f"/tiles/{ANTARCTIC}/sic/2/1/0.png",  # northern hemisphere
        "/tiles/esa-olci-c2rcc-north-sea/chl/3/0/3.png",  # the Pacific
    ):
        rgba = decode(api.get(url))
        assert (rgba[..., 3] == 0).all(), url


def test_overviews_are_written_at_publish_and_read_at_low_zoom(
    api: Any, settings: Settings
) -> None:
    from spaceclimate.render.grids import TileGrid

    cube, href = cube_of(settings, OSTIA)
    meta = json.loads((cube / "overviews" / "zarr.json").read_text())
    levels = meta["attributes"]["sco_overview_levels"]
    assert [(lv["level"], lv["factor"]) for lv in levels] == [(1, 2), (2, 4)]
    assert sorted(xr.open_zarr(cube).data_vars) == ["sst", "sst_anomaly"]  # root unchanged

    full = xr.open_zarr(cube)["sst"].values  # (time, 720, 1440)
    blocks = full.reshape(full.shape[0], 180, 4, 360, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN (land) blocks
        independent = np.nanmean(blocks, axis=(2, 4))
    overview = xr.open_zarr(cube / "overviews" / "2")
    assert overview["sst"].shape == (3, 180, 360)
    np.testing.assert_allclose(overview["sst"].values, independent, rtol=1e-6, equal_nan=True)
    np.testing.assert_allclose(overview["lat"].values, np.arange(-89.5, 90, 1.0))
    assert not (cube_of(settings, ARCTIC)[0] / "overviews").exists()  # 448 x 304: small

    grid = TileGrid(cube, href)
    assert grid.choose_level(0, 0).level == 2  # coarsest: 1 degree cells, 1.4 degree pixels
    assert grid.choose_level(1, 0).level == 1
    assert grid.choose_level(3, 2).level == 0

    rgba = decode(api.get(f"/tiles/{OSTIA}/sst/0/0/0.png"))
    from_overview = latlon_expected(overview, "sst", 0, 0, 0, t=-1)
    check_pixels(rgba, from_overview, "RdYlBu_r", *OSTIA_RANGE)
    from_full = latlon_expected(xr.open_zarr(cube), "sst", 0, 0, 0, t=-1)
    differs = np.isfinite(from_full) != np.isfinite(from_overview)
    assert differs.sum() > 500  # the full-resolution grid would have drawn another tile


def test_tilejson(api: Any, settings: Settings) -> None:
    query = {"colormap": "viridis", "rescale": "280,300", "datetime": "2017-06-06"}
    doc = api.get(f"/tiles/{OSTIA}/sst/tilejson.json", params=query).json()
    assert doc["tilejson"] == "3.0.0" and doc["scheme"] == "xyz"
    template = doc["tiles"][0]
    assert "/tiles/ukmo-ostia-sst-daily/sst/{z}/{x}/{y}.png?" in template
    assert "colormap=viridis" in template and "rescale=280%2C300" in template
    assert doc["minzoom"] == 0 and doc["maxzoom"] == 3  # 0.25 degree cells ~ 28 km ~ z3
    w, s, e, n = doc["bounds"]
    assert (w, e) == (-180.0, 180.0) and -85.06 < s < -85 and 85 < n < 85.06
    assert doc["sco:times"] == [f"2017-06-0{d}T12:00:00Z" for d in (5, 6, 7)]
    assert doc["sco:datetime"] == "2017-06-06T12:00:00Z"
    assert doc["sco:units"] == "K"
    url = template.replace("{z}", "1").replace("{x}", "0").replace("{y}", "0")
    assert url.startswith("http://testserver/")
    assert decode(api.get(url))[..., 3].any()
    arctic = api.get(f"/tiles/{ARCTIC}/sic/tilejson.json").json()
    assert arctic["bounds"][1] > 25 and 1 <= arctic["maxzoom"] <= 4


def test_legends_and_colormaps(api: Any) -> None:
    legend = api.get(f"/tiles/{OSTIA}/sst/legend.json").json()
    assert legend["range"] == [271.0, 305.0] and legend["units"] == "K"
    assert legend["colormap"] == "RdYlBu_r" and len(legend["stops"]) == 11
    cmap = matplotlib.colormaps["RdYlBu_r"]
    first = "#{:02x}{:02x}{:02x}".format(*cmap(0.0, bytes=True)[:3])
    last = "#{:02x}{:02x}{:02x}".format(*cmap(1.0, bytes=True)[:3])
    assert legend["stops"][0] == {"value": 271.0, "color": first}
    assert legend["stops"][-1] == {"value": 305.0, "color": last}

    image = Image.open(io.BytesIO(api.get(f"/tiles/{OSTIA}/sst/legend.png").content))
    bar = np.asarray(image.convert("RGBA"))[10, :, :3]  # a row through the colour bar
    assert bar.shape == (256, 3)
    ref = np.asarray(cmap((np.arange(256) + 0.5) / 256, bytes=True))[:, :3]
    assert np.array_equal(bar, ref)

    names = api.get("/tiles/colormaps").json()["colormaps"]
    assert {"viridis", "RdYlBu_r", "Blues_r"} <= set(names)
    layers = api.get("/tiles/").json()["layers"]
    assert {"collection": OSTIA, "variable": "sst"} in [
        {k: lay[k] for k in ("collection", "variable")} for lay in layers
    ]
    assert all(lay["collection"] != "csiro-gmsl-altimetry" for lay in layers)


def test_cache_headers_and_etag(api: Any) -> None:
    url = f"/tiles/{OSTIA}/sst/1/1/0.png"
    first = api.get(url)
    assert first.status_code == 200 and "max-age" in first.headers["cache-control"]
    etag = first.headers["etag"]
    assert api.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert api.get(url, params={"colormap": "magma"}).headers["etag"] != etag


@pytest.mark.parametrize(
    ("url", "status", "words"),
    [
        (f"/tiles/{OSTIA}/sst/30/0/0.png", 400, "'z'"),
        (f"/tiles/{OSTIA}/sst/2/4/0.png", 400, "'x'"),
        (f"/tiles/{OSTIA}/sst/2/0/-1.png", 400, "'y'"),
        (f"/tiles/{OSTIA}/sst/two/0/0.png", 400, "'z'"),
        (f"/tiles/{OSTIA}/sst/0/0/0.png?colormap=nope", 400, "viridis"),
        (f"/tiles/{OSTIA}/sst/0/0/0.png?rescale=5", 400, "'rescale'"),
        (f"/tiles/{OSTIA}/sst/0/0/0.png?rescale=5,1", 400, "'rescale'"),
        (f"/tiles/{OSTIA}/sst/0/0/0.png?rescale=nan,1", 400, "'rescale'"),
        (f"/tiles/{OSTIA}/sst/0/0/0.png?datetime=yesterday", 400, "'datetime'"),
        (f"/tiles/{OSTIA}/sst/0/0/0.png?datetime=2017-01-01/2018-01-01", 400, "'datetime'"),
        ("/tiles/no-such-thing/sst/0/0/0.png", 404, OSTIA),
        (f"/tiles/{OSTIA}/nope/0/0/0.png", 404, "sst_anomaly"),
        (f"/tiles/{OSTIA}/nope/tilejson.json", 404, "sst_anomaly"),
        ("/tiles/csiro-gmsl-altimetry/gmsl/0/0/0.png", 400, "spatial grid"),
        ("/tiles/csiro-gmsl-altimetry/gmsl/tilejson.json", 400, "spatial grid"),
        (f"/tiles/{OSTIA}/sst/legend.png?colormap=nope", 400, "'colormap'"),
    ],
)
def test_bad_input_is_a_problem(api: Any, url: str, status: int, words: str) -> None:
    r = api.get(url)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert words in r.json()["detail"]


def test_static_collection_and_live_server(live_hub: str) -> None:
    r = httpx.get(f"{live_hub}/tiles/cnes-cls-mss/mss/0/0/0.png", params={"datetime": "2000-01-01"})
    rgba = decode(r)
    assert (rgba[..., 3] == 255).sum() > 20_000
    assert math.isclose(
        httpx.get(f"{live_hub}/tiles/cnes-cls-mss/mss/legend.json").json()["range"][0], -110.0
    )
