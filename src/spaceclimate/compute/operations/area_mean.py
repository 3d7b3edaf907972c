"""``area-mean``: the area-weighted mean series of a gridded variable over an area."""

from __future__ import annotations

from typing import ClassVar

from spaceclimate.compute import regions
from spaceclimate.compute.registry import (
    BBox,
    CollectionId,
    Geometry,
    Interval,
    Level,
    Operation,
    OperationContext,
    OperationInputs,
    OutputDef,
    RegionName,
    Result,
    VariableName,
)
from spaceclimate.compute.selection import pick_variable, require_grid, select
from spaceclimate.compute.subset import select_z, vertical_dim
from spaceclimate.errors import InputError


class AreaMeanInputs(OperationInputs):
    """Inputs of ``area-mean``."""

    collection: CollectionId
    variable: VariableName | None = None
    bbox: BBox | None = None
    region: RegionName | None = None
    geometry: Geometry | None = None
    datetime: Interval | None = None
    z: Level | None = None

    one_of: ClassVar[tuple[str, ...]] = ("bbox", "region", "geometry")


def run(ctx: OperationContext, inputs: AreaMeanInputs) -> Result:
    """Mask the area on the cube's grid and average it with true cell areas."""
    source = ctx.open(inputs.collection)
    require_grid(source.ds, inputs.collection)
    if inputs.bbox is None and inputs.region is None and inputs.geometry is None:
        raise InputError("inputs: give one of bbox, region or geometry")
    ds = select(source.ds, inputs.datetime)
    levels = vertical_dim(ds)
    if levels is not None and inputs.z is None:
        values = ", ".join(f"{v:g}" for v in ds[levels].values)
        raise InputError(f"inputs: give z, the level to average (levels: {values})")
    ds = select_z(ds, [inputs.z] if inputs.z is not None else None, name="z")
    if levels is not None:
        ds = ds.squeeze(levels)  # the level chosen stays as a coordinate
    da = pick_variable(ds, inputs.variable)
    da = ctx.series_shaped(source, da, inputs.datetime)
    ctx.report(0.05, "masking the area")
    bbox, geometry = inputs.bbox, inputs.geometry
    _label, mask = regions.region_mask(da, inputs.region, bbox=bbox, geometry=geometry)
    if int(mask.sum()) == 0:
        raise InputError("inputs: the area holds no cell centre of the collection's grid")
    mean = regions.regional_mean(da, inputs.region, bbox=bbox, geometry=geometry)
    mean = ctx.compute(mean, 0.1, 0.95, "averaging")
    label = str(mean.coords["region"].values) if "region" in mean.coords else ""
    cells = {
        "n_cells": int(mean.coords["valid_cells"].values),  # the cells that hold data
        "n_cells_in_area": int(mean.coords["cells_in_area"].values),
    }
    mean = mean.drop_vars(["valid_cells", "cells_in_area"])
    if "time" not in mean.dims:
        first = source.ds["time"].values[0] if "time" in source.ds.coords else 0
        mean = mean.expand_dims(time=[first])
    return Result(
        series=mean,
        extra={
            "collection": source.id,
            "variable": str(da.name),
            "region": label,
            **({"z": float(ds[levels].values)} if levels is not None else {}),
            **cells,
        },
        sources=[source],
    )


area_mean = Operation(
    id="area-mean",
    title="Area-weighted mean time series",
    description="The mean of a gridded variable over a bounding box, a GeoJSON polygon or a "
    "named region (IPCC AR6 region or country) at every time step, weighted by true cell "
    "areas (also on projected grids); cells without data drop out of each step's weights.",
    inputs=AreaMeanInputs,
    outputs={"series": OutputDef("Area mean series", "series")},
    run=run,
    label="area mean series",
    order=10,
)
