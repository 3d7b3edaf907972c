"""``resample``: daily to monthly, seasonal or annual statistics with a minimum of valid steps."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from spaceclimate.compute import resample as resampling
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


class ResampleInputs(OperationInputs):
    """Inputs of ``resample``."""

    collection: CollectionId
    variable: VariableName | None = None
    freq: Annotated[
        Literal["month", "season", "year"],
        Field(title="Target frequency", description="The period each output step covers."),
    ] = "month"
    statistic: Annotated[
        Literal["mean", "min", "max", "sum", "std", "median"],
        Field(title="Statistic", description="What each period's value is of its steps."),
    ] = "mean"
    min_valid_fraction: Annotated[
        float,
        Field(
            title="Minimum valid fraction",
            description="Share of a period's steps that must hold a value (else missing).",
            ge=0,
            le=1,
            json_schema_extra={"x-sco-units": "1"},
        ),
    ] = 0.5
    datetime: Interval | None = None


def run(ctx: OperationContext, inputs: ResampleInputs) -> Result:
    """Resample the variable's time axis."""
    source = ctx.open(inputs.collection)
    da = pick_variable(select(source.ds, inputs.datetime), inputs.variable)
    result = resampling.resample_time(
        da,
        inputs.freq,
        statistic=inputs.statistic,
        min_valid_fraction=float(inputs.min_valid_fraction),
    )
    return Result(
        collection=result.to_dataset(name=str(da.name)),
        title=f"{inputs.statistic} per {inputs.freq} of {da.name}, {source.title}",
        description=f"Resampled {da.name} of {source.id}.",
        sources=[source],
        message="resampling",
    )


resample = Operation(
    id="resample",
    title="Temporal resampling",
    description="Daily to monthly or monthly to annual statistics, with a minimum share of "
    "valid time steps per period (else missing); published as a derived collection.",
    inputs=ResampleInputs,
    outputs={"collection": OutputDef("Resampled cube", "collection")},
    run=run,
    label="resampled cube",
    order=60,
)
