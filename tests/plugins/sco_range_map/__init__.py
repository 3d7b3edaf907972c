"""A test plugin: an operation that is not part of the hub, registered by entry point only.

The tests put this folder on ``PYTHONPATH``; its ``sco_range_map-0.1.dist-info`` registers
``range-map`` under ``spaceclimate.operations``, and nothing else names it.
"""

from __future__ import annotations

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
from spaceclimate.compute.selection import pick_variable, require_grid, select


class RangeMapInputs(OperationInputs):
    """Inputs of ``range-map``."""

    collection: CollectionId
    variable: VariableName | None = None
    datetime: Interval | None = None


def run(ctx: OperationContext, inputs: RangeMapInputs) -> Result:
    """The range (maximum minus minimum) of each cell over the time steps."""
    source = ctx.open(inputs.collection)
    require_grid(source.ds, source.id)
    da = pick_variable(select(source.ds, inputs.datetime), inputs.variable)
    spread = da.max("time") - da.min("time")
    spread.attrs = {"long_name": f"range of {da.name} over time", "units": da.attrs["units"]}
    return Result(
        collection=spread.to_dataset(name=f"{da.name}_range"),
        title=f"Range of {da.name} in {source.title}",
        description=f"Maximum minus minimum of {da.name} at each cell ({source.id}).",
        sources=[source],
        message="range",
    )


range_map = Operation(
    id="range-map",
    title="Range over time of each cell",
    description="The maximum minus the minimum of a variable at each cell over the time range.",
    inputs=RangeMapInputs,
    outputs={"collection": OutputDef("Range map", "collection")},
    run=run,
    label="range map",
    order=25,
)
