"""Sea-ice extent and area from concentration maps, and monthly figures from the extent index.

From a concentration map on the NSIDC polar stereographic grid (``sic``, fraction 0–1):

* **extent**: total true area of the cells with concentration ≥ 15 %;
* **area**: Σ concentration × cell area over the same cells (the NSIDC definition);

with true cell areas of the grid (:mod:`spaceclimate.compute.areas`, 382–664 km² for the
25 km northern grid). Values stored as float32 (0.15 is 0.1499999…) are compared with a 1e-6
tolerance so that a cell at exactly 15 % counts, as it does in the source bytes.

**Pole hole.** The satellites do not see the area around the North Pole; the CDR flags it
(value 251) and the hub masks it as missing. The NSIDC Sea Ice Index counts the hole as ice
covered (concentration ≥ 15 %: the hole lies deep in the central Arctic pack, north of 84° N
for every sensor since 1978) when it computes extent. :func:`sea_ice_extent_area` reports the
extent without and with that fill: cells missing at a time step with a centre latitude
≥ ``pole_hole_min_lat`` (84° N by default; there is no land north of 83.7° N, so missing cells
there can only be the hole). Version 4 monthly and daily CDR maps fill the hole by spatial
interpolation already, so there the two figures are equal. Area is never filled: the hole's
concentration is unknown. The southern grid has no hole (the pole is on land).

From the daily NSIDC Sea Ice Index series, :func:`index_monthly_means` gives monthly means of
the daily values (with the missing-data rule of :mod:`~spaceclimate.compute.resample`) and
:func:`index_month_means` one month of every year, e.g. the September means of the record.
"""

from __future__ import annotations

import xarray as xr

from spaceclimate.compute.areas import AreaMethod, cell_area, spatial_dims
from spaceclimate.compute.cfmeta import as_dataarray, convert_units, stamp
from spaceclimate.compute.resample import resample_time, select_month
from spaceclimate.errors import InputError

#: Unit of extent and area outputs (the ECV table's unit of ``sea_ice_extent``).
EXTENT_UNITS = "1e6 km2"
M2_PER_EXTENT_UNIT = 1e12
#: Tolerance of the concentration threshold for float32-stored fractions.
THRESHOLD_TOLERANCE = 1e-6


def _default_variable(data: xr.Dataset | xr.DataArray, variable: str | None) -> str | None:
    """Apply a default variable name to datasets that hold it, never to a bare array."""
    if isinstance(data, xr.DataArray) or variable not in data.data_vars:
        return None
    return variable


def _as_fraction(sic: xr.DataArray) -> xr.DataArray:
    units = str(sic.attrs.get("units", "1")).strip()
    if units in ("1", "", "fraction"):
        return sic.assign_attrs(units="1")
    return convert_units(sic.assign_attrs(units=units), "1")


def sea_ice_extent_area(
    data: xr.Dataset | xr.DataArray,
    *,
    threshold: float = 0.15,
    pole_hole_min_lat: float = 84.0,
    area_method: AreaMethod = "scale_factor",
    variable: str | None = "sic",
) -> xr.Dataset:
    """Return sea-ice extent (with and without pole-hole fill) and area of concentration maps.

    Parameters
    ----------
    data
        Harmonised sea-ice concentration (``sic``, fraction or percent) on a gridded cube.
    threshold
        Concentration (fraction) at or above which a cell counts as ice covered.
    pole_hole_min_lat
        Missing cells at or north of this latitude count as the pole hole (northern grids).
    area_method
        Cell-area method on projected grids (see :mod:`spaceclimate.compute.areas`).

    Returns
    -------
    xarray.Dataset
        ``sea_ice_extent``, ``sea_ice_extent_pole_hole_filled``, ``sea_ice_area`` and
        ``pole_hole_area`` in 10⁶ km², over the non-spatial dims of *data*.
    """
    variable = _default_variable(data, variable)
    sic = as_dataarray(data, variable)
    dims = spatial_dims(sic)
    sic = _as_fraction(sic)
    if not 0.0 < float(threshold) <= 1.0:
        raise InputError(f"threshold: must be a fraction in (0, 1], not {threshold}")
    areas = cell_area(sic, area_method).fillna(0.0).assign_attrs(units="m2")
    cut = f"{float(threshold) - THRESHOLD_TOLERANCE} 1"
    from xclim.indices import sea_ice_area as xclim_sea_ice_area  # heavy: imported when used
    from xclim.indices import sea_ice_extent as xclim_sea_ice_extent

    extent = xclim_sea_ice_extent(sic, areas, thresh=cut) / M2_PER_EXTENT_UNIT
    area = xclim_sea_ice_area(sic, areas, thresh=cut) / M2_PER_EXTENT_UNIT
    if "lat" not in sic.coords:
        raise InputError("data: the grid has no latitude coordinate")
    north = (sic["lat"] >= float(pole_hole_min_lat)).fillna(False)
    hole_cells = sic.isnull() & north & (areas > 0)
    hole = (hole_cells * areas).sum(dim=list(dims)) / M2_PER_EXTENT_UNIT
    out = xr.Dataset(
        {
            "sea_ice_extent": extent,
            "sea_ice_extent_pole_hole_filled": extent + hole,
            "sea_ice_area": area,
            "pole_hole_area": hole,
        }
    )
    out = out.drop_vars([c for c in out.coords if c not in out.dims])
    pct = f"{100 * float(threshold):g} %"
    meta = {
        "sea_ice_extent": (
            "sea_ice_extent",
            f"Sea ice extent (area of cells with concentration >= {pct})",
        ),
        "sea_ice_extent_pole_hole_filled": (
            "sea_ice_extent",
            f"Sea ice extent with the pole hole counted as ice (concentration >= {pct})",
        ),
        "sea_ice_area": (
            "sea_ice_area",
            f"Sea ice area (concentration x cell area, cells >= {pct})",
        ),
        "pole_hole_area": (
            None,
            f"Area of missing cells north of {pole_hole_min_lat:g} N (pole hole)",
        ),
    }
    for name, (standard_name, long_name) in meta.items():
        attrs = {"long_name": long_name, "units": EXTENT_UNITS, "cell_methods": "area: sum"}
        if standard_name:
            attrs["standard_name"] = standard_name
        out[name].attrs = attrs
    out.attrs["comment"] = f"True cell areas ({area_method}) of the grid"
    params = {
        "threshold": threshold,
        "pole_hole_min_lat": pole_hole_min_lat,
        "area_method": area_method,
    }
    return stamp(out, "sea_ice_extent_area", params, sic)


def index_monthly_means(
    data: xr.Dataset | xr.DataArray,
    *,
    min_valid_fraction: float = 0.5,
    variable: str | None = "sea_ice_extent",
) -> xr.DataArray:
    """Return monthly means of a daily sea-ice index series (e.g. NSIDC daily extent)."""
    variable = _default_variable(data, variable)
    series = as_dataarray(data, variable)
    out = resample_time(series, "month", statistic="mean", min_valid_fraction=min_valid_fraction)
    out.attrs["long_name"] = (
        f"{series.attrs.get('long_name', series.name)}, monthly mean of daily values"
    )
    return out


def index_month_means(
    data: xr.Dataset | xr.DataArray,
    month: int = 9,
    *,
    min_valid_fraction: float = 0.5,
    variable: str | None = "sea_ice_extent",
) -> xr.DataArray:
    """Return the mean of one calendar month in every year (September by default)."""
    monthly = index_monthly_means(data, min_valid_fraction=min_valid_fraction, variable=variable)
    return select_month(monthly, month)
