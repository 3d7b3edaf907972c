"""Sea-ice extent and area from the CDR maps and the NSIDC index, against independent sums."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spaceclimate.compute.areas import projected_cell_area
from spaceclimate.compute.seaice import index_month_means, index_monthly_means, sea_ice_extent_area
from spaceclimate.errors import InputError
from tests import compute_samples as cs


def test_polar_stereographic_cell_areas_two_ways() -> None:
    ds = cs.harmonised(cs.CDR_NH_MONTHLY)
    by_scale = projected_cell_area(ds, "scale_factor").values
    by_polygon = projected_cell_area(ds, "geodesic").values
    independent = cs.polar_areas_geodesic(cs.CDR_NH_MONTHLY, 3411)
    assert np.max(np.abs(by_scale / independent - 1)) < 1e-6
    assert np.max(np.abs(by_polygon / independent - 1)) < 1e-9
    # NSIDC's 25 km cells span about 382.7-664.5 km² on the Hughes 1980 ellipsoid
    assert by_scale.min() / 1e6 == pytest.approx(382.66, abs=0.05)
    assert by_scale.max() / 1e6 == pytest.approx(664.45, abs=0.05)
    # at 70° N, the true-scale latitude, a cell is the nominal 625 km²
    lat = ds["lat"].values
    near70 = np.abs(lat - 70.0) < 0.1
    np.testing.assert_allclose(by_scale[near70] / 1e6, 625.0, rtol=2e-3)


def test_december_2021_extent_matches_raw_bytes_and_the_sea_ice_index() -> None:
    ds = cs.harmonised(cs.CDR_NH_MONTHLY)
    result = sea_ice_extent_area(ds)
    extent = float(result["sea_ice_extent"].squeeze())
    area = float(result["sea_ice_area"].squeeze())
    assert result["sea_ice_extent"].attrs["units"] == "1e6 km2"
    assert result["sea_ice_extent"].attrs["standard_name"] == "sea_ice_extent"

    # independent: raw concentration codes 15..100 (percent), geodesic cell areas
    _, _, codes = cs.raw_cdr(cs.CDR_NH_MONTHLY, "cdr_seaice_conc_monthly")
    areas = cs.polar_areas_geodesic(cs.CDR_NH_MONTHLY, 3411)
    ice = (codes >= 15) & (codes <= 100)
    assert extent == pytest.approx(areas[ice].sum() / 1e12, rel=1e-6)
    assert area == pytest.approx((codes[ice] / 100.0 * areas[ice]).sum() / 1e12, rel=1e-6)
    assert 251 not in codes  # version 4 fills the pole hole: nothing to add
    assert float(result["pole_hole_area"].squeeze()) == 0.0
    assert float(result["sea_ice_extent_pole_hole_filled"].squeeze()) == extent

    # the NSIDC Sea Ice Index (NASA Team, mean of the daily extents): 12.19 million km² in
    # December 2021; the CDR monthly map (a different algorithm, and extent of a monthly-mean
    # field) gives 12.80, 5.0 % more
    monthly = cs.nsidc_monthly_means()
    index = float(monthly.loc["2021-12-01"])
    assert 12.0 < index < 12.4
    assert extent == pytest.approx(index, rel=0.06)
    assert area < extent


def test_daily_extent_matches_the_index_on_the_same_day() -> None:
    result = sea_ice_extent_area(cs.harmonised(cs.CDR_NH_DAILY))
    index = float(cs.nsidc_daily().loc["2021-12-31"])  # 13.183 million km²
    assert float(result["sea_ice_extent"].squeeze()) == pytest.approx(index, rel=0.015)


def test_pole_hole_fill_counts_missing_cells_near_the_pole() -> None:
    ds = cs.harmonised(cs.CDR_NH_MONTHLY)
    full = sea_ice_extent_area(ds)
    holed = ds.copy()
    holed["sic"] = ds["sic"].where(ds["lat"] < 87.0)  # an SSM/I-sized hole (87.2° N)
    result = sea_ice_extent_area(holed)
    areas = cs.polar_areas_geodesic(cs.CDR_NH_MONTHLY, 3411)
    hole = areas[ds["lat"].values >= 87.0].sum() / 1e12
    assert float(result["pole_hole_area"].squeeze()) == pytest.approx(hole, rel=1e-6)
    assert float(result["sea_ice_extent"].squeeze()) == pytest.approx(
        float(full["sea_ice_extent"].squeeze()) - hole, rel=1e-9
    )
    # December: every cell north of 87° N is ice covered, so the fill restores the full extent
    assert float(result["sea_ice_extent_pole_hole_filled"].squeeze()) == pytest.approx(
        float(full["sea_ice_extent"].squeeze()), rel=1e-9
    )
    assert float(result["sea_ice_area"].squeeze()) < float(full["sea_ice_area"].squeeze())


def test_southern_extent_and_no_hole() -> None:
    result = sea_ice_extent_area(cs.harmonised(cs.CDR_SH_MONTHLY))
    extent = float(result["sea_ice_extent"].squeeze())
    assert float(result["pole_hole_area"].squeeze()) == 0.0  # the South Pole is on land
    _, _, codes = cs.raw_cdr(cs.CDR_SH_MONTHLY, "cdr_seaice_conc_monthly")
    areas = cs.polar_areas_geodesic(cs.CDR_SH_MONTHLY, 3412)
    assert extent == pytest.approx(areas[(codes >= 15) & (codes <= 100)].sum() / 1e12, rel=1e-6)
    # December is the Antarctic retreat: the daily index falls from 12.6 to 5.8 million km²,
    # so the extent of the monthly-mean map (10.86) lies well above the mean of the daily
    # extents (9.09) but within the month's range
    daily = cs.nsidc_daily(cs.NSIDC_S).loc["2021-12-01":"2021-12-31"]
    assert daily.min() < extent < daily.max()


def test_index_monthly_and_september_means() -> None:
    ds = cs.harmonised(cs.NSIDC_N)
    monthly = index_monthly_means(ds)
    reference = cs.nsidc_monthly_means()
    both = monthly.to_series().dropna()
    common = both.index.intersection(reference.index)
    assert len(common) > 500
    np.testing.assert_allclose(both.loc[common].values, reference.loc[common].values, rtol=1e-5)
    # the SSM/I gap (3 Dec 1987 - 12 Jan 1988): December 1987 has 2 days, so it is missing
    assert np.isnan(float(monthly.sel(time="1987-12-01")))
    assert float(monthly["valid_fraction"].sel(time="1987-12-01")) == pytest.approx(2 / 31)
    # every-other-day sampling before August 1987 still makes complete months
    assert float(monthly["valid_fraction"].sel(time="1985-09-01")) == pytest.approx(1.0)
    september = index_month_means(ds, 9)
    years = pd.DatetimeIndex(september["time"].values).year
    assert years[0] == 1979 and years[-1] == 2021
    assert float(september.sel(time="2012-09-01")) == pytest.approx(3.5656, abs=1e-3)


def test_seaice_rejects_bad_input() -> None:
    ds = cs.harmonised(cs.CDR_NH_MONTHLY)
    with pytest.raises(InputError, match="threshold"):
        sea_ice_extent_area(ds, threshold=15)
    with pytest.raises(InputError, match="spatial grid"):
        sea_ice_extent_area(cs.harmonised(cs.NSIDC_N), variable="sea_ice_extent")
    with pytest.raises(InputError, match="month"):
        index_month_means(cs.harmonised(cs.NSIDC_N), 13)
