"""Cell areas and regional means, against independent point-in-polygon and weight sums."""

from __future__ import annotations

import json

import numpy as np
import pytest
import shapely
from shapely.geometry import shape

from spaceclimate.compute.areas import EARTH_RADIUS_M, cell_area, coslat_weights
from spaceclimate.compute.regions import (
    DATA,
    list_regions,
    lookup_region,
    region_mask,
    region_set,
    regional_mean,
)
from spaceclimate.errors import InputError, NotFoundError
from tests import compute_samples as cs


def _feature(file: str, abbrev: str) -> shapely.Geometry:
    doc = json.loads((DATA / file).read_text())
    hit = [f for f in doc["features"] if f["properties"]["abbrev"] == abbrev]
    assert len(hit) == 1
    return shape(hit[0]["geometry"])


def test_shipped_region_files_are_complete_and_attributed() -> None:
    ar6 = list_regions("ar6")
    countries = list_regions("country")
    assert len(ar6) == 58 and len(countries) == 177
    assert {"abbrev": "NAO", "name": "N.Atlantic-Ocean"}.items() <= ar6[50].items()
    assert sum(r["type"] == "Ocean" for r in ar6) == 12
    assert len({c["abbrev"] for c in countries}) == 177
    assert region_set("ar6").numbers == list(range(58))
    readme = (DATA / "README.md").read_text()
    assert "CC BY 4.0" in readme and "10.5194/essd-12-2959-2020" in readme
    assert "public domain" in readme
    # the rounding kept the shapes: the AR6 ocean areas (deg²) as in the published shapefile
    assert _feature("ar6_reference_regions.geojson", "NAO").area == pytest.approx(2484.4, rel=1e-5)
    assert _feature("ar6_reference_regions.geojson", "EPO").area == pytest.approx(2350.05, rel=1e-5)


def test_region_lookup_by_name_code_and_prefix() -> None:
    assert lookup_region("NAO")[0] == "ar6:NAO (N.Atlantic-Ocean)"
    assert lookup_region("n.atlantic-ocean")[0] == "ar6:NAO (N.Atlantic-Ocean)"
    assert lookup_region("France")[0] == "country:FRA (France)"
    assert lookup_region("country:SAU")[0] == "country:SAU (Saudi Arabia)"
    assert lookup_region("ar6:SAU")[0] == "ar6:SAU (S.Australia)"
    with pytest.raises(InputError, match="ar6:SAU or country:SAU"):
        lookup_region("SAU")
    with pytest.raises(NotFoundError, match="Atlantis"):
        lookup_region("Atlantis")
    with pytest.raises(InputError, match="prefix"):
        lookup_region("state:CO")


def test_true_cell_areas_equal_coslat_weights_on_the_ostia_grid() -> None:
    ds = cs.harmonised(cs.OSTIA_FILES[0])
    area = cell_area(ds)
    assert area.attrs["units"] == "m2"
    assert float(area.sum()) == pytest.approx(4 * np.pi * EARTH_RADIUS_M**2, rel=1e-12)
    true_w = (area / area.sum()).values
    cos = np.cos(np.deg2rad(ds["lat"].values))[:, None] * np.ones(ds.sizes["lon"])
    cos_w = cos / cos.sum()
    assert np.max(np.abs(true_w / cos_w - 1)) < 1e-9  # 2 sin(dphi/2) cos(phi), exactly
    xr_cos = coslat_weights(ds)
    np.testing.assert_allclose(xr_cos.values, cos[:, 0])


@pytest.mark.parametrize("abbrev", ["NAO", "EPO"])
def test_ar6_ocean_mean_of_ostia_matches_shapely_and_coslat(abbrev: str) -> None:
    ds = cs.harmonised(cs.OSTIA_FILES[0])
    mean = regional_mean(ds, abbrev, variable="sst")
    assert mean.attrs["units"] == "K"
    assert "area: mean" in mean.attrs["cell_methods"]
    assert mean.coords["region"].item().startswith(f"ar6:{abbrev}")

    # independent: shapely point-in-polygon on the cell centres, cos-latitude weights
    lat, lon, raw = cs.ostia_raw("analysed_sst")
    polygon = _feature("ar6_reference_regions.geojson", abbrev)
    lon2d, lat2d = np.meshgrid(lon, lat)
    inside = shapely.contains_xy(polygon, lon2d, lat2d)
    values = raw[0]
    use = inside & np.isfinite(values)
    weights = np.cos(np.deg2rad(lat2d))
    expected = np.sum(values[use] * weights[use]) / np.sum(weights[use])
    assert float(mean.squeeze()) == pytest.approx(expected, abs=1e-4)
    _, mask = region_mask(ds, abbrev)
    assert np.array_equal(mask.values, inside)
    coslat = regional_mean(ds, abbrev, variable="sst", weighting="coslat")
    assert float(coslat.squeeze()) == pytest.approx(float(mean.squeeze()), abs=1e-4)
    assert 0.99 < float(mean["valid_area_fraction"].squeeze()) <= 1.0


def test_bbox_and_polygon_means_across_the_antimeridian() -> None:
    ds = cs.harmonised(cs.OSTIA_FILES[0])
    lat, lon, raw = cs.ostia_raw("analysed_sst")
    box = (170.0, -10.0, -170.0, 10.0)
    by_box = regional_mean(ds, bbox=box, variable="sst")
    lon2d, lat2d = np.meshgrid(lon, lat)
    inside = ((lon2d >= 170) | (lon2d <= -170)) & (np.abs(lat2d) <= 10) & np.isfinite(raw[0])
    weights = np.cos(np.deg2rad(lat2d))
    expected = np.sum(raw[0][inside] * weights[inside]) / np.sum(weights[inside])
    assert float(by_box.squeeze()) == pytest.approx(expected, abs=1e-4)
    polygon = {
        "type": "Feature",
        "properties": {},
        "geometry": {
            "type": "MultiPolygon",
            "coordinates": [
                [[[170, -10], [180, -10], [180, 10], [170, 10], [170, -10]]],
                [[[-180, -10], [-170, -10], [-170, 10], [-180, 10], [-180, -10]]],
            ],
        },
    }
    by_polygon = regional_mean(ds, geometry=polygon, variable="sst")
    assert float(by_polygon.squeeze()) == pytest.approx(expected, abs=1e-3)


def test_regional_mean_on_the_polar_stereographic_grid() -> None:
    ds = cs.harmonised(cs.CDR_NH_MONTHLY)
    mean = regional_mean(ds, "ARO", variable="sic")
    x, y, codes = cs.raw_cdr(cs.CDR_NH_MONTHLY, "cdr_seaice_conc_monthly")
    areas = cs.polar_areas_geodesic(cs.CDR_NH_MONTHLY, 3411)
    polygon = _feature("ar6_reference_regions.geojson", "ARO")
    lon2d = ds["lon"].values.astype("float64")
    lat2d = ds["lat"].values.astype("float64")
    inside = shapely.contains_xy(polygon, lon2d, lat2d) & (codes <= 100)
    expected = np.sum(codes[inside] / 100.0 * areas[inside]) / np.sum(areas[inside])
    assert float(mean.squeeze()) == pytest.approx(expected, abs=2e-3)
    assert 0.8 < float(mean.squeeze()) < 1.0  # the Arctic Ocean is ice covered in December


def test_regional_mean_rejects_bad_input() -> None:
    ds = cs.harmonised(cs.OSTIA_FILES[0])
    with pytest.raises(InputError, match="exactly one"):
        regional_mean(ds, "NAO", bbox=(0, 0, 10, 10), variable="sst")
    with pytest.raises(InputError, match="bbox"):
        regional_mean(ds, bbox=(0, 20, 10, 10), variable="sst")
    with pytest.raises(InputError, match="bbox"):
        regional_mean(ds, bbox=(0, "a", 10, 10), variable="sst")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="geometry"):
        regional_mean(ds, geometry={"type": "Point", "coordinates": [0, 0]}, variable="sst")
    with pytest.raises(InputError, match="geometry"):
        regional_mean(ds, geometry="{not json", variable="sst")
    with pytest.raises(InputError, match="no cell"):
        regional_mean(ds, bbox=(10.0, 20.0, 10.1, 20.1), variable="sst")
    with pytest.raises(InputError, match="spatial grid"):
        regional_mean(cs.harmonised(cs.GMSL), "NAO", variable="gmsl")
