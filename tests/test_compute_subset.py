"""Subsetting harmonised cubes, checked against independent reads of the source files."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from matplotlib.path import Path as MplPath
from shapely.geometry import Polygon

from spaceclimate.compute import subset
from spaceclimate.config import Settings
from spaceclimate.errors import InputError, NotFoundError
from spaceclimate.services.context import HubContext

from .sourcedata import ostia_nearest, ostia_source, seaice_lonlat, seaice_nearest, seaice_source


@pytest.fixture(scope="module")
def ctx(hub_home: Path) -> Iterator[HubContext]:
    context = HubContext(Settings(home=hub_home))
    yield context
    context.close()


# -- points ---------------------------------------------------------------------------------------
# -- points ---------------------------------------------------------------------------------------
def test_nearest_cell_regular_matches_source(ctx: HubContext, samples: Path) -> None:
    lat, lon360, sst = ostia_source(samples)
    i, j = ostia_nearest(lat, lon360, -30.1, 40.3)
    cell = subset.nearest_cell(ctx.cube("ukmo-ostia-sst-daily"), -30.1, 40.3)
    assert float(cell["lat"]) == pytest.approx(lat[i])
    assert float(cell["lon"]) == pytest.approx(lon360[j] - 360)
    assert set(cell["sst"].dims) == {"time"}
    np.testing.assert_allclose(cell["sst"].values, sst[:, i, j], atol=1e-4)
    assert np.all(np.isfinite(sst[:, i, j]))


def test_nearest_cell_wraps_the_antimeridian(ctx: HubContext) -> None:
    ersst = ctx.cube("noaa-ersst-v5")  # 2° cells centred on -180, -178, ..., 178
    assert float(subset.nearest_cell(ersst, 179.5, 0.0)["lon"]) == -180.0
    assert float(subset.nearest_cell(ersst, 178.9, 0.0)["lon"]) == 178.0
    # -1 lies on the edge of the cells centred on -2 and 0: it belongs to [-1, 1), the cell
    # that starts there (cells are half-open, as the map draws them)
    assert float(subset.nearest_cell(ersst, 359.0 - 360, 0.0)["lon"]) == 0.0
    assert float(subset.nearest_cell(ersst, 358.9 - 360, 0.0)["lon"]) == -2.0


def test_nearest_cell_projected_matches_source(ctx: HubContext, samples: Path) -> None:
    x, y, conc = seaice_source(samples)
    cube = ctx.cube("nsidc-seaice-cdr-nh-monthly")
    for lon, lat in [(-150.0, 80.0), (30.0, 75.5), (-45.0, 89.9)]:
        i, j = seaice_nearest(x, y, lon, lat)
        cell = subset.nearest_cell(cube, lon, lat)
        assert (float(cell["x"]), float(cell["y"])) == (x[j], y[i])
        np.testing.assert_allclose(cell["sic"].values, [conc[i, j]], atol=1e-6, equal_nan=True)
    assert float(subset.nearest_cell(cube, -150.0, 80.0)["sic"][0]) == pytest.approx(0.99)


@pytest.mark.parametrize(
    ("collection", "lon", "lat"),
    [
        ("nsidc-seaice-cdr-nh-monthly", 20.0, 10.0),  # far south of the Arctic grid
        ("nsidc-seaice-cdr-nh-monthly", -150.0, -80.0),  # other hemisphere
        ("esa-olci-c2rcc-north-sea", 5.1, 52.6),  # beyond the regional grid
        ("esa-olci-c2rcc-north-sea", -20.0, 52.0),
    ],
)
def test_nearest_cell_refuses_points_off_the_grid(
    ctx: HubContext, collection: str, lon: float, lat: float
) -> None:
    with pytest.raises(InputError, match="'coords'.*outside the grid"):
        subset.nearest_cell(ctx.cube(collection), lon, lat)


def test_nearest_cell_accepts_points_within_a_cell_of_the_edge(ctx: HubContext) -> None:
    cube = ctx.cube("esa-olci-c2rcc-north-sea")  # lon 0..5 in 0.0025° cells
    cell = subset.nearest_cell(cube, 5.001, 51.0)
    assert float(cell["lon"]) == pytest.approx(cube["lon"].values[-1])
    with pytest.raises(InputError, match="latitude"):
        subset.nearest_cell(cube, 5.0, 95.0)


def test_gridless_cube_has_no_cells(ctx: HubContext) -> None:
    with pytest.raises(InputError, match="no spatial grid"):
        subset.nearest_cell(ctx.cube("csiro-gmsl-altimetry"), 0.0, 0.0)
    with pytest.raises(InputError, match="no spatial grid"):
        subset.select_bbox(ctx.cube("rutgers-snow-cover-extent"), (0.0, 0.0, 1.0, 1.0))


# -- bbox and polygons ----------------------------------------------------------------------------
def test_select_bbox_regular_keeps_overlapping_cells(ctx: HubContext, samples: Path) -> None:
    lat, lon360, sst = ostia_source(samples)
    bbox = (-10.1, 40.0, 0.0, 45.0)
    area = subset.select_bbox(ctx.cube("ukmo-ostia-sst-daily"), bbox)
    assert area.mask is None
    lon = np.where(lon360 >= 180, lon360 - 360, lon360)
    keep_lon = np.flatnonzero((lon + 0.125 > bbox[0]) & (lon - 0.125 < bbox[2]))
    keep_lat = np.flatnonzero((lat + 0.125 > bbox[1]) & (lat - 0.125 < bbox[3]))
    np.testing.assert_allclose(area.window["lon"].values, np.sort(lon[keep_lon]))
    np.testing.assert_allclose(area.window["lat"].values, lat[keep_lat])
    assert area.window.sizes["lon"] == 41 and area.window.sizes["lat"] == 20
    order = np.argsort(lon[keep_lon])
    expected = sst[:, keep_lat][:, :, keep_lon[order]]
    np.testing.assert_allclose(area.window["sst"].values, expected, atol=1e-4)


def test_select_bbox_projected_masks_cells_outside(ctx: HubContext, samples: Path) -> None:
    x, y, conc = seaice_source(samples)
    lon, lat = seaice_lonlat(x, y)
    bbox = (-10.0, 70.0, 10.0, 75.0)
    inside = (lon >= bbox[0]) & (lon <= bbox[2]) & (lat >= bbox[1]) & (lat <= bbox[3])
    area = subset.select_bbox(ctx.cube("nsidc-seaice-cdr-nh-monthly"), bbox)
    assert area.mask is not None
    assert int(area.mask.sum()) == int(inside.sum()) > 100
    source = xr.DataArray(conc, dims=("y", "x"), coords={"y": y, "x": x})
    window = area.window
    expected = source.sel(x=window["x"], y=window["y"]).values
    got = area.masked()["sic"].isel(time=0).values
    np.testing.assert_allclose(got[area.mask.values], expected[area.mask.values], atol=1e-6)
    assert np.all(np.isnan(got[~area.mask.values]))
    # the window is the tightest: every edge row and column holds a cell inside the box
    m = area.mask.values
    assert m[0].any() and m[-1].any() and m[:, 0].any() and m[:, -1].any()


def test_select_bbox_projected_around_the_pole(ctx: HubContext, samples: Path) -> None:
    x, y, _ = seaice_source(samples)
    _, lat = seaice_lonlat(x, y)
    area = subset.select_bbox(ctx.cube("nsidc-seaice-cdr-nh-monthly"), (-180, 84, 180, 90))
    assert area.mask is not None and int(area.mask.sum()) == int((lat >= 84).sum())
    whole = subset.select_bbox(ctx.cube("nsidc-seaice-cdr-nh-monthly"), (-180, -90, 180, 90))
    assert whole.mask is None and whole.window.sizes["x"] == x.size


def test_select_bbox_refuses_boxes_off_the_grid(ctx: HubContext) -> None:
    with pytest.raises(InputError, match="'bbox'.*no grid cell"):
        subset.select_bbox(ctx.cube("nsidc-seaice-cdr-nh-monthly"), (-10, 0, 10, 10))
    with pytest.raises(InputError, match="'bbox'.*no grid cell"):
        subset.select_bbox(ctx.cube("esa-olci-c2rcc-north-sea"), (20, 10, 30, 20))
    with pytest.raises(InputError, match="'bbox'"):
        subset.select_bbox(ctx.cube("ukmo-ostia-sst-daily"), (10, 0, -10, 5))


def test_select_polygon_regular_matches_point_in_polygon(ctx: HubContext) -> None:
    # vertices off the 0.25° lattice, so no cell centre lies exactly on an edge
    ring = [(-40.05, 30.02), (-20.03, 31.07), (-25.01, 45.04), (-40.05, 30.02)]
    area = subset.select_polygon(ctx.cube("ukmo-ostia-sst-daily"), Polygon(ring))
    assert area.mask is not None
    lon, lat = np.meshgrid(area.window["lon"].values, area.window["lat"].values)
    expected = MplPath(ring).contains_points(np.column_stack([lon.ravel(), lat.ravel()]))
    np.testing.assert_array_equal(area.mask.values.ravel(), expected)
    # no cell centre inside the polygon is left outside the window
    cube = ctx.cube("ukmo-ostia-sst-daily")
    all_lon, all_lat = np.meshgrid(cube["lon"].values, cube["lat"].values)
    everywhere = MplPath(ring).contains_points(np.column_stack([all_lon.ravel(), all_lat.ravel()]))
    assert int(area.mask.sum()) == int(everywhere.sum())


def test_select_polygon_projected(ctx: HubContext, samples: Path) -> None:
    x, y, _ = seaice_source(samples)
    lon, lat = seaice_lonlat(x, y)
    ring = [(-170.0, 72.0), (-140.0, 72.0), (-140.0, 80.0), (-170.0, 80.0), (-170.0, 72.0)]
    area = subset.select_polygon(ctx.cube("nsidc-seaice-cdr-nh-monthly"), Polygon(ring))
    inside = MplPath(ring).contains_points(np.column_stack([lon.ravel(), lat.ravel()]))
    assert area.mask is not None and int(area.mask.sum()) == int(inside.sum()) > 50


def test_select_polygon_smaller_than_a_cell_is_refused(ctx: HubContext) -> None:
    tiny = Polygon([(-30.01, 40.01), (-30.02, 40.01), (-30.02, 40.02)])
    with pytest.raises(InputError, match="'coords'.*no grid cell centre"):
        subset.select_polygon(ctx.cube("ukmo-ostia-sst-daily"), tiny)


# -- time, variables, z ---------------------------------------------------------------------------
def test_select_time_uses_the_cells_periods(ctx: HubContext) -> None:
    ersst = ctx.cube("noaa-ersst-v5")
    one = subset.select_time(ersst, datetime(2015, 3, 10, tzinfo=UTC), None)
    assert str(one["time"].values[0])[:19] == "2015-03-16T12:00:00"  # March, stamped mid-month
    instant = datetime(2015, 3, 10, tzinfo=UTC)
    assert subset.select_time(ersst, instant, instant).sizes["time"] == 1
    spring = subset.select_time(
        ersst, datetime(2015, 3, 1, tzinfo=UTC), datetime(2015, 5, 31, 23, 59, tzinfo=UTC)
    )
    assert [str(t)[:7] for t in spring["time"].values] == ["2015-03", "2015-04", "2015-05"]
    daily = ctx.cube("ukmo-ostia-sst-daily")
    midnight = datetime(2017, 6, 6, tzinfo=UTC)
    picked = subset.select_time(daily, midnight, midnight)
    assert [str(t)[:10] for t in picked["time"].values] == ["2017-06-06"]


def test_select_time_outside_the_record_is_refused(ctx: HubContext) -> None:
    with pytest.raises(InputError, match="'datetime'.*2017-06-05"):
        subset.select_time(ctx.cube("ukmo-ostia-sst-daily"), datetime(2020, 1, 1, tzinfo=UTC), None)
    # dates far outside the nanosecond range neither overflow nor wrap around
    ersst = ctx.cube("noaa-ersst-v5")
    everything = subset.select_time(
        ersst, datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, tzinfo=UTC)
    )
    assert everything.sizes["time"] == ersst.sizes["time"]
    with pytest.raises(InputError, match="'datetime'"):
        subset.select_time(ersst, datetime(9999, 1, 1, tzinfo=UTC), None)


def test_static_cube_ignores_time(ctx: HubContext) -> None:
    mss = ctx.cube("cnes-cls-mss")
    assert subset.select_time(mss, datetime(2020, 1, 1, tzinfo=UTC), None) is mss


def test_select_variables(ctx: HubContext) -> None:
    cube = ctx.cube("ukmo-ostia-sst-daily")
    assert list(subset.select_variables(cube, ["sst_anomaly"]).data_vars) == ["sst_anomaly"]
    with pytest.raises(NotFoundError, match="known: sst, sst_anomaly"):
        subset.select_variables(cube, ["chl"])


def test_select_z_only_where_the_cube_has_levels(ctx: HubContext) -> None:
    cube = ctx.cube("esa-cci-ozone-tc")
    assert subset.vertical_dim(cube) is None
    with pytest.raises(InputError, match="'z'.*no vertical dimension"):
        subset.select_z(cube, levels=[10.0])
    levels = xr.DataArray([0.0, 10.0, 50.0], dims="depth", attrs={"axis": "Z", "units": "m"})
    deep = cube.expand_dims(depth=levels)
    assert subset.vertical_dim(deep) == "depth"
    assert subset.select_z(deep, levels=[12.0])["depth"].values.tolist() == [10.0]
    assert subset.select_z(deep, between=(5.0, 60.0))["depth"].values.tolist() == [10.0, 50.0]
    with pytest.raises(InputError, match="no level within"):
        subset.select_z(deep, between=(100.0, 200.0))


# -- sizes ----------------------------------------------------------------------------------------
def test_estimate_bytes_reads_nothing_and_matches_the_loaded_size(ctx: HubContext) -> None:
    cube = subset.select_variables(ctx.cube("esa-cci-sm-combined"), ["sm"])
    area = subset.select_bbox(cube, (0.0, 40.0, 20.0, 50.0))
    window = area.window
    estimate = subset.estimate_bytes(window)
    assert window["sm"].chunks is not None  # still lazy: nothing was read
    loaded = window.compute()
    assert estimate == sum(v.nbytes for v in loaded.variables.values())
    n = loaded.sizes["time"] * loaded.sizes["lat"] * loaded.sizes["lon"]
    assert subset.estimate_bytes(window, data_only=True) == 4 * n
    assert subset.selection_shape(window) == {"time": 4, "lat": 40, "lon": 80}
    full = ctx.cube("ukmo-ostia-sst-daily")
    assert subset.estimate_bytes(full, data_only=True) == 2 * 3 * 720 * 1440 * 4
