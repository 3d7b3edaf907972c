"""Gridded products pooled as they are: every valid cell equals an independent read."""

from __future__ import annotations

from pathlib import Path

import netCDF4
import numpy as np
import xarray as xr

from spaceclimate.ecv import get_recipe
from spaceclimate.harmonise import harmonise_file

AEROSOL = "aerosol/aer_esacci_aatsr_adv_l3c_daily_20000302_subset.nc"


def _first_step(
    samples: Path, name: str, source: str, recipe: str, variable: str
) -> tuple[xr.Dataset, np.ndarray, np.ma.MaskedArray]:
    """The harmonised dataset, its first step on the source's cells, and netCDF4's read."""
    with netCDF4.Dataset(samples / name) as nc:
        lat, lon = nc["lat"][:], nc["lon"][:]
        want = nc[source][0]
    ds = harmonise_file(samples / name, get_recipe(recipe))
    got = ds[variable].isel(time=0).sel(lat=np.asarray(lat), lon=np.asarray(lon)).values
    return ds, got, want


def test_aerosol_angstrom_exponent_equals_the_source(samples: Path) -> None:
    ds, got, want = _first_step(
        samples, AEROSOL, "ANG550-670_mean", "esa-cci-aerosol-atsr2-adv", "angstrom"
    )
    assert int(np.isfinite(got).sum()) == want.count() == 28
    np.testing.assert_allclose(got, want.filled(np.nan), rtol=1e-6)
    assert str(ds["time_bnds"].values[0, 0])[:10] == "2000-03-02"
    assert ds["angstrom"].attrs["standard_name"] == "angstrom_exponent_of_ambient_aerosol_in_air"


OC_IOP = "ocean_colour/oc_esacci_iop_adg_monthly_200505_4km_subset.nc"


def test_ocean_colour_absorption_equals_the_source(samples: Path) -> None:
    ds, got, want = _first_step(samples, OC_IOP, "adg_443", "esa-cci-oc-iop-adg", "adg443")
    assert int(np.isfinite(got).sum()) == want.count() > 60_000
    np.testing.assert_allclose(got, want.filled(np.nan), rtol=1e-6)
    assert [str(t)[:10] for t in ds["time_bnds"].values[0]] == ["2005-05-01", "2005-06-01"]
