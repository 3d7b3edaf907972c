"""The portal's server side: content negotiation at ``/``, static files, previews, difference
tiles and polar images, checked against the cubes and matplotlib's colour maps directly."""

from __future__ import annotations

import io
import math
import warnings
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pytest
import xarray as xr
from PIL import Image
from pyproj import CRS, Transformer

from spaceclimate.catalog import open_catalog
from spaceclimate.config import Settings
from spaceclimate.portal import vendor
from spaceclimate.portal.routes import STATIC, accept_quality, prefers_html

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
OSTIA = "ukmo-ostia-sst-daily"
OSTIA_MONTHLY = "ukmo-ostia-sst-monthly"
ERSST = "noaa-ersst-v5"
ARCTIC = "nsidc-seaice-cdr-nh-monthly"


def open_cube(hub_home: Path, cid: str) -> xr.Dataset:
    settings = Settings(home=hub_home)
    catalog = open_catalog(settings.resolved_catalog_url)
    try:
        href = catalog.get_collection(cid)["assets"]["zarr"]["href"]
    finally:
        catalog.close()
    return xr.open_zarr(settings.resolved_store_path / href, zarr_format=3)


def png_rgba(body: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(body)).convert("RGBA"))


def lut_colour(name: str, value: float, vmin: float, vmax: float) -> tuple[int, int, int]:
    """Colour of *value* as matplotlib maps a normalised value onto a 256-colour map."""
    index = int(np.clip(math.floor((value - vmin) / (vmax - vmin) * 256), 0, 255))
    r, g, b, _a = matplotlib.colormaps[name]((index + 0.5) / 256, bytes=True)
    return int(r), int(g), int(b)


# -- content negotiation ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("accept", "html"),
    [
        (BROWSER_ACCEPT, True),
        ("text/html", True),
        ("*/*", False),
        ("", False),
        ("application/json", False),
        ("application/json, text/html;q=0.5", False),
        ("text/html;q=0.9, application/json;q=0.9", True),
        ("text/html;q=0", False),
        ("text/html;q=abc", False),
    ],
)
def test_prefers_html(accept: str, html: bool) -> None:
    assert prefers_html(accept) is html


def test_accept_quality_reads_q() -> None:
    assert accept_quality("text/html;q=0.3, application/json", "text/html") == 0.3
    assert accept_quality("text/plain", "text/html") == 0.0


def test_root_is_the_portal_for_browsers_and_json_for_clients(api: Any) -> None:
    page = api.get("/", headers={"Accept": BROWSER_ACCEPT})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'data-base=""' in page.text and "/portal/static/js/app.js" in page.text
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    for accept in (None, "application/json", "*/*"):
        headers = {"Accept": accept} if accept else {}
        landing = api.get("/", headers=headers)
        assert landing.status_code == 200, accept
        assert landing.json()["title"] == "spaceclimate hub"
    assert api.get("/portal/", headers={"Accept": "application/json"}).text == page.text
    redirect = api.get("/portal", follow_redirects=False)
    assert redirect.status_code == 307 and redirect.headers["location"] == "/portal/"


def test_openapi_keeps_one_landing_operation(api: Any) -> None:
    paths = api.get("/api").json()["paths"]
    assert paths["/"]["get"]["operationId"] == "coreLanding"
    assert "/portal/thumbnails/{cid}.png" in paths and "/portal/diff/{z}/{x}/{y}.png" in paths


def test_page_loads_only_local_assets() -> None:
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    for attr in ("src=", "href="):
        for part in html.split(attr)[1:]:
            target = part.split('"')[1]
            assert target.startswith(("{{base}}/", "#")), target
    for path in [*STATIC.glob("js/*.js"), *STATIC.glob("css/*.css")]:
        text = path.read_text(encoding="utf-8")
        assert "import(" not in text and "@import" not in text, path
        for line in text.splitlines():
            if "http://" in line or "https://" in line:
                # only links people may follow (DOIs); never something the page loads
                assert "doi.org" in line, f"{path.name}: {line.strip()}"


# -- static files -----------------------------------------------------------------------------
def test_static_files_and_vendor_assets(api: Any) -> None:
    app_js = api.get("/portal/static/js/app.js")
    assert app_js.status_code == 200
    assert app_js.headers["content-type"].startswith("text/javascript")
    assert app_js.headers["x-content-type-options"] == "nosniff"
    for path in (
        "vendor/leaflet/leaflet.js",
        "vendor/leaflet/leaflet.css",
        "vendor/chart.js/chart.umd.min.js",
        "vendor/topojson-client/topojson-client.min.js",
        "vendor/world-atlas/countries-50m.json",
    ):
        response = api.get(f"/portal/static/{path}")
        assert response.status_code == 200, path
        assert "max-age=86400" in response.headers["cache-control"]
    atlas = api.get("/portal/static/vendor/world-atlas/countries-110m.json").json()
    assert atlas["type"] == "Topology" and {"land", "countries"} <= set(atlas["objects"])


@pytest.mark.parametrize(
    "path",
    [
        "../routes.py",
        "%2e%2e/routes.py",
        "..%2f__init__.py",
        "js/../../vendor.py",
        "js/nothing.js",
        "index.py",
        "/etc/passwd",
    ],
)
def test_static_files_refuse_anything_else(api: Any, path: str) -> None:
    response = api.get(f"/portal/static/{path}")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


def test_vendor_manifest_is_installed_and_checked(tmp_path: Path) -> None:
    assert vendor.missing_assets() == []
    files, folders = vendor.load_manifest()
    assert "leaflet/dist/leaflet.js" in files and folders
    with pytest.raises(FileNotFoundError, match="leaflet"):
        vendor.install(node_modules=tmp_path / "none", vendor=tmp_path / "out")
    package = (Path(vendor.__file__).parent / "package-lock.json").read_text(encoding="utf-8")
    for name in ("leaflet", "chart.js", "topojson-client", "world-atlas"):
        assert f'"node_modules/{name}"' in package


# -- previews ---------------------------------------------------------------------------------
def test_thumbnail_of_a_map_is_north_up_and_masks_land(api: Any, hub_home: Path) -> None:
    response = api.get(f"/portal/thumbnails/{OSTIA}.png")
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    rgba = png_rgba(response.content)
    height, width, _ = rgba.shape
    assert width == 192 and height == 96  # the 2:1 global grid fitted into 192 x 108
    sst = open_cube(hub_home, OSTIA)["sst"].isel(time=-1).values
    land = np.isnan(sst).mean()
    transparent = (rgba[..., 3] == 0).mean()
    assert abs(transparent - land) < 0.04
    # the equatorial Pacific is warm (red) and the Southern Ocean cold (blue): north is up
    equator = rgba[height // 2, int(width * 40 / 360)]  # about 140 W
    south = rgba[int(height * 0.85), int(width * 40 / 360)]  # about 63 S
    assert equator[3] == 255 and equator[0] > equator[2] + 80
    assert south[3] == 255 and south[2] > south[0] + 80
    again = api.get(f"/portal/thumbnails/{OSTIA}.png")
    assert again.content == response.content


def test_thumbnail_of_a_series_is_a_line_plot(api: Any) -> None:
    response = api.get("/portal/thumbnails/csiro-gmsl-altimetry.png")
    rgba = png_rgba(response.content)
    assert rgba.shape[:2] == (108, 192)
    drawn = rgba[..., 3] > 0
    assert 0.005 < drawn.mean() < 0.3  # a line, not a filled picture
    columns = np.flatnonzero(drawn.any(axis=0))
    assert columns.max() - columns.min() > 150  # spans the width
    # sea level rises: the line ends higher (smaller row) than it starts
    first = np.flatnonzero(drawn[:, columns.min() + 2]).mean()
    last = np.flatnonzero(drawn[:, columns.max() - 2]).mean()
    assert last < first - 20


def test_thumbnail_of_unknown_collection_is_404(api: Any) -> None:
    response = api.get("/portal/thumbnails/no-such-thing.png")
    assert response.status_code == 404
    assert "known:" in response.json()["detail"]


# -- difference tiles -------------------------------------------------------------------------
def mercator_pixel(z: int, x: int, y: int, row: int, col: int) -> tuple[float, float]:
    """Lon/lat of the centre of pixel (row, col) of tile z/x/y (XYZ, 256 px)."""
    n = 2**z
    lon = (x + (col + 0.5) / 256) / n * 360.0 - 180.0
    lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * (y + (row + 0.5) / 256) / n))))
    return lon, lat


def test_diff_tile_is_a_minus_b_at_nearest_cells(api: Any, hub_home: Path) -> None:
    z, x, y = 3, 0, 3  # 180 W..135 W, 0..41 N: the equatorial Pacific
    query = {
        "a": f"{OSTIA_MONTHLY}:sst",
        "b": f"{ERSST}:sst",
        "datetime_a": "2010-06-16",
        "datetime_b": "2010-06-01",
        "rescale": "-2,2",
    }
    response = api.get(f"/portal/diff/{z}/{x}/{y}.png", params=query)
    assert response.status_code == 200, response.text
    rgba = png_rgba(response.content)
    a = open_cube(hub_home, OSTIA_MONTHLY)["sst"].sel(time="2010-06").isel(time=0)
    b = open_cube(hub_home, ERSST)["sst"].sel(time="2010-06").isel(time=0)
    checked = 0
    for row in (230, 240, 250):
        for col in (20, 120, 200):
            lon, lat = mercator_pixel(z, x, y, row, col)
            va = float(a.sel(lat=lat, lon=lon, method="nearest"))
            vb = float(b.sel(lat=lat, lon=lon, method="nearest"))
            pixel = rgba[row, col]
            if np.isnan(va) or np.isnan(vb):
                assert pixel[3] == 0
                continue
            expected = lut_colour("RdBu_r", va - vb, -2.0, 2.0)
            assert pixel[3] == 255
            assert np.abs(pixel[:3].astype(int) - expected).max() <= 1, (lon, lat, va - vb)
            checked += 1
    assert checked >= 6
    # far from OSTIA's equatorial band there is no A: transparent
    assert rgba[10, 10, 3] == 0


@pytest.mark.parametrize(
    ("query", "status", "word"),
    [
        ({"a": OSTIA_MONTHLY, "b": "noaa-ersst-v5:sst"}, 400, "'a'"),
        ({"a": f"{OSTIA_MONTHLY}:sst", "b": "nope:sst"}, 404, "nope"),
        ({"a": f"{OSTIA_MONTHLY}:sst", "b": "noaa-ersst-v5:salt"}, 404, "salt"),
        ({"a": f"{OSTIA_MONTHLY}:sst", "b": "nasa-aquarius-cap-sss-monthly-v3:sss"}, 400, "units"),
        ({"a": "csiro-gmsl-altimetry:gmsl", "b": "noaa-ersst-v5:sst"}, 400, "grid"),
        ({"a": f"{OSTIA_MONTHLY}:sst", "b": "noaa-ersst-v5:sst", "rescale": "2,1"}, 400, "rescale"),
        ({"a": f"{OSTIA_MONTHLY}:sst", "b": "noaa-ersst-v5:sst", "colormap": "x"}, 400, "colormap"),
    ],
)
def test_diff_tile_bad_input(api: Any, query: dict[str, str], status: int, word: str) -> None:
    response = api.get("/portal/diff/1/0/0.png", params=query)
    assert response.status_code == status, response.text
    assert word in response.json()["detail"]


def test_diff_tile_out_of_range_is_400(api: Any) -> None:
    query = {"a": f"{OSTIA_MONTHLY}:sst", "b": f"{ERSST}:sst"}
    assert api.get("/portal/diff/1/2/0.png", params=query).status_code == 400


# -- polar stereographic images ---------------------------------------------------------------
def test_native_index_lists_the_polar_grids(api: Any) -> None:
    layers = api.get("/portal/native/").json()["layers"]
    ids = {layer["collection"] for layer in layers}
    assert ids == {
        "nsidc-seaice-cdr-nh-monthly",
        "nsidc-seaice-cdr-sh-monthly",
        "nsidc-seaice-cdr-nh-daily",
    }


def test_native_layer_describes_the_grid(api: Any, hub_home: Path) -> None:
    info = api.get(f"/portal/native/{ARCTIC}/sic.json").json()
    ds = open_cube(hub_home, ARCTIC)
    crs = CRS.from_wkt(ds["crs"].attrs["crs_wkt"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        proj = crs.to_dict()
    assert info["projection"]["lat_0"] == proj["lat_0"] == 90
    assert info["projection"]["lat_ts"] == proj["lat_ts"]
    assert info["projection"]["lon_0"] == proj["lon_0"]
    assert info["projection"]["a"] == pytest.approx(crs.ellipsoid.semi_major_metre)
    assert info["projection"]["b"] == pytest.approx(crs.ellipsoid.semi_minor_metre)
    x, y = ds["x"].values, ds["y"].values
    assert info["bounds"] == pytest.approx(
        [x.min() - 12500, y.min() - 12500, x.max() + 12500, y.max() + 12500]
    )
    assert info["size"] == [x.size, y.size]
    assert info["units"] == "1" and len(info["times"]) == ds.sizes["time"]


def test_native_image_is_the_grid_north_up(api: Any, hub_home: Path) -> None:
    response = api.get(f"/portal/native/{ARCTIC}/sic.png", params={"rescale": "0,1"})
    assert response.status_code == 200
    rgba = png_rgba(response.content)
    ds = open_cube(hub_home, ARCTIC)
    sic = ds["sic"].isel(time=-1)
    assert rgba.shape[:2] == (ds.sizes["y"], ds.sizes["x"])
    to_grid = Transformer.from_crs(
        "EPSG:4326", CRS.from_wkt(ds["crs"].attrs["crs_wkt"]), always_xy=True
    )
    top = float(ds["y"].max())
    left = float(ds["x"].min())
    checked = 0
    for lon, lat in [(0.0, 88.0), (-40.0, 75.0), (150.0, 80.0), (-170.0, 60.0), (-40.0, 72.0)]:
        gx, gy = to_grid.transform(lon, lat)
        col = int(round((gx - left) / 25000))
        row = int(round((top - gy) / 25000))
        value = float(sic.sel(x=gx, y=gy, method="nearest"))
        pixel = rgba[row, col]
        if np.isnan(value):
            assert pixel[3] == 0, (lon, lat)
        else:
            assert np.abs(pixel[:3].astype(int) - lut_colour("Blues_r", value, 0, 1)).max() <= 1
            checked += 1
    assert checked >= 3


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/portal/native/nasa-modis-snow-mod10a2/snow_cover.json", 400),
        ("/portal/native/ukmo-ostia-sst-daily/sst.json", 400),
        ("/portal/native/nsidc-seaice-cdr-nh-monthly/nope.png", 404),
        ("/portal/native/nsidc-seaice-cdr-nh-monthly/sic.png?rescale=1,0", 400),
        ("/portal/native/nsidc-seaice-cdr-nh-monthly/sic.png?datetime=soon", 400),
    ],
)
def test_native_bad_input(api: Any, path: str, status: int) -> None:
    response = api.get(path)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
