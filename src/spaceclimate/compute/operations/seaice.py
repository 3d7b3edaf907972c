"""``sea-ice-extent``: extent and area from concentration maps, or an index's monthly means."""

from __future__ import annotations

from typing import Annotated

import xarray as xr
from pydantic import Field

from spaceclimate.compute import seaice
from spaceclimate.compute.registry import (
    CollectionId,
    Interval,
    Operation,
    OperationContext,
    OperationInputs,
    OutputDef,
    Result,
)
from spaceclimate.compute.selection import select
from spaceclimate.errors import InputError


class SeaIceExtentInputs(OperationInputs):
    """Inputs of ``sea-ice-extent``."""

    collection: CollectionId
    datetime: Interval | None = None
    threshold: Annotated[
        float,
        Field(
            title="Concentration threshold",
            description="Cells of at least this concentration count in the extent.",
            ge=0,
            le=1,
            json_schema_extra={"x-sco-units": "1"},
        ),
    ] = 0.15


def run(ctx: OperationContext, inputs: SeaIceExtentInputs) -> Result:
    """Extent and area series (true cell areas), or monthly means of a daily index."""
    source = ctx.open(inputs.collection)
    ds = select(source.ds, inputs.datetime)
    if "sic" in ds.data_vars:
        result = seaice.sea_ice_extent_area(ds, threshold=float(inputs.threshold))
        result = ctx.compute(result, 0.1, 0.95, "extent and area")
        series = result[[n for n in result.data_vars if "time" in result[n].dims]]
    elif "sea_ice_extent" in ds.data_vars:
        monthly = seaice.index_monthly_means(ds)
        monthly = ctx.compute(monthly, 0.1, 0.95, "monthly means")
        series = xr.Dataset({"sea_ice_extent": monthly})
    else:
        raise InputError(
            f"inputs.collection: {source.id} has neither sea-ice concentration nor extent"
        )
    return Result(series=series, sources=[source])


sea_ice_extent = Operation(
    id="sea-ice-extent",
    title="Sea-ice extent and area",
    description="From a sea-ice concentration collection: extent (area of cells with "
    "concentration of at least 15 %) and area (concentration times cell area) with true polar "
    "stereographic cell areas. From an extent index (NSIDC Sea Ice Index): monthly means of "
    "the daily values.",
    inputs=SeaIceExtentInputs,
    outputs={"series": OutputDef("Extent and area series", "series")},
    run=run,
    ecvs=("sea_ice",),
    label="sea-ice extent series",
    order=50,
)
