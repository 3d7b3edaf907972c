"""``regrid``: a regular lat/lon collection on the grid of another."""

from __future__ import annotations

from typing import Annotated, Literal

import xarray as xr
from pydantic import Field

from spaceclimate.compute import regrid as regridding
from spaceclimate.compute.registry import (
    CollectionId,
    Interval,
    Operation,
    OperationContext,
    OperationInputs,
    OutputDef,
    Result,
    VariableName,
)
from spaceclimate.compute.selection import pick_variable, select


class RegridInputs(OperationInputs):
    """Inputs of ``regrid``."""

    collection: CollectionId
    variable: VariableName | None = None
    target: Annotated[
        CollectionId,
        Field(title="Target collection", description="The collection whose grid is used."),
    ]
    method: Annotated[
        Literal["conservative", "bilinear", "nearest"],
        Field(
            title="Method",
            description="conservative (area-weighted overlap), bilinear or nearest.",
        ),
    ] = "conservative"
    datetime: Interval | None = None


def run(ctx: OperationContext, inputs: RegridInputs) -> Result:
    """Regrid the variable onto the target collection's grid."""
    source = ctx.open(inputs.collection)
    target = ctx.open(inputs.target, "target")
    da = pick_variable(select(source.ds, inputs.datetime), inputs.variable)
    regridded = regridding.regrid(da, target.ds, method=inputs.method)
    cube = (
        regridded if isinstance(regridded, xr.Dataset) else regridded.to_dataset(name=str(da.name))
    )
    return Result(
        collection=cube,
        title=f"{da.name} of {source.title} on the grid of {target.id}",
        description=f"{inputs.method} regridding of {source.id}.",
        sources=[source, target],
        message="regridding",
    )


regrid = Operation(
    id="regrid",
    title="Regrid onto another collection's grid",
    description="Conservative (area-weighted overlap), bilinear or nearest regridding of a "
    "regular lat/lon collection onto the grid of another; published as a derived collection.",
    inputs=RegridInputs,
    outputs={"collection": OutputDef("Regridded cube", "collection")},
    run=run,
    label="regridded cube",
    order=70,
)
