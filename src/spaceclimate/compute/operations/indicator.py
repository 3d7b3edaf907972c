"""``indicator``: counts or degree days over a threshold, or a statistic, per period."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from spaceclimate.compute import indicators
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
from spaceclimate.errors import InputError

THRESHOLD_INDICATORS = ("days_over_threshold", "degree_days_over_threshold")


class IndicatorInputs(OperationInputs):
    """Inputs of ``indicator``."""

    collection: CollectionId
    variable: VariableName | None = None
    indicator: Annotated[
        Literal["days_over_threshold", "degree_days_over_threshold", "period_statistic"],
        Field(title="Indicator", description="Which indicator to compute."),
    ]
    threshold: (
        Annotated[
            str,
            Field(
                title="Threshold",
                description="A value with units, e.g. '25 degC' or '0.3 m3 m-3' (needed by the "
                "threshold indicators).",
                max_length=60,
                json_schema_extra={"x-sco-kind": "quantity"},
            ),
        ]
        | None
    ) = None
    op: Annotated[
        Literal[">", ">=", "<", "<="],
        Field(title="Comparison", description="How a value compares with the threshold."),
    ] = ">"
    statistic: Annotated[
        Literal["mean", "min", "max", "sum", "std"],
        Field(title="Statistic (period_statistic)", description="What each period's value is."),
    ] = "mean"
    freq: Annotated[
        Literal["month", "season", "year"],
        Field(title="Period", description="The period each value covers."),
    ] = "year"
    datetime: Interval | None = None


def run(ctx: OperationContext, inputs: IndicatorInputs) -> Result:
    """Compute the indicator per period."""
    source = ctx.open(inputs.collection)
    da = pick_variable(select(source.ds, inputs.datetime), inputs.variable)
    name = inputs.indicator
    if name in THRESHOLD_INDICATORS:
        if not inputs.threshold:
            raise InputError(f"inputs.threshold: required by {name}")
        if name == "degree_days_over_threshold" and inputs.op not in (">", "<"):
            raise InputError("inputs.op: degree days take > or <")
        func = getattr(indicators, name)
        result = func(da, inputs.threshold, op=inputs.op, freq=inputs.freq)
    else:
        result = indicators.period_statistic(da, inputs.statistic, freq=inputs.freq)
    return Result(
        collection=result.to_dataset(name=name),
        title=f"{name.replace('_', ' ')} of {da.name}, {source.title}",
        description=f"{name} ({inputs.freq}) of {da.name} in {source.id}.",
        sources=[source],
        message=name,
    )


indicator = Operation(
    id="indicator",
    title="Climate indicator",
    description="Counts of time steps over a threshold, degree days over a threshold, or a "
    "statistic per period (month, season or year); published as a derived collection.",
    inputs=IndicatorInputs,
    outputs={"collection": OutputDef("Indicator", "collection")},
    run=run,
    label="indicator map",
    order=90,
)
