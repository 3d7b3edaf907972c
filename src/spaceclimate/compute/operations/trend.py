"""``trend``: least-squares or Sen's slope trend of a series, an area mean or every cell."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from spaceclimate.compute import regions, resample, trends
from spaceclimate.compute.registry import (
    BBox,
    CollectionId,
    Interval,
    Operation,
    OperationContext,
    OperationInputs,
    OutputDef,
    Period,
    RegionName,
    Result,
    VariableName,
)
from spaceclimate.compute.selection import finer_than_monthly, period, pick_variable, select
from spaceclimate.compute.subset import grid_kind


class TrendInputs(OperationInputs):
    """Inputs of ``trend``."""

    collection: CollectionId
    variable: VariableName | None = None
    datetime: Interval | None = None
    bbox: BBox | None = None
    region: RegionName | None = None
    method: Annotated[
        Literal["ols", "sen"],
        Field(
            title="Method",
            description="ols (least squares) or sen (Sen's slope with the Mann-Kendall test).",
            json_schema_extra={
                "x-sco-labels": {
                    "ols": "least squares (OLS)",
                    "sen": "Sen's slope (Mann-Kendall test)",
                }
            },
        ),
    ] = "ols"
    per: Annotated[
        Literal["year", "decade"],
        Field(
            title="Rate",
            description="The trend's time unit: per year or per decade.",
            json_schema_extra={"x-sco-labels": {"decade": "per decade", "year": "per year"}},
        ),
    ] = "decade"
    relative_to: (
        Annotated[
            Period,
            Field(
                title="Relative to the mean of",
                description="Also express the trend in percent of the mean over this period, "
                "e.g. 1981/2010.",
            ),
        ]
        | None
    ) = None
    autocorrelation: Annotated[
        bool,
        Field(
            title="Correct for autocorrelation",
            description="Least squares: reduce the sample size by the residuals' lag-1 "
            "autocorrelation (effective sample size) for the standard error, interval and "
            "p-value; climate series are rarely independent from step to step.",
        ),
    ] = True
    month: (
        Annotated[
            int,
            Field(
                title="Calendar month",
                description="Use only this month (1-12) of each year, e.g. 9 for September; daily "
                "series are first averaged to monthly means.",
                ge=1,
                le=12,
            ),
        ]
        | None
    ) = None


def run(ctx: OperationContext, inputs: TrendInputs) -> Result:
    """Fit the trend of a series, of an area mean, or of every cell (a map)."""
    source = ctx.open(inputs.collection)
    da = pick_variable(select(source.ds, inputs.datetime), inputs.variable)
    area = inputs.bbox is not None or inputs.region is not None
    gridded = grid_kind(source.ds) != "none"
    if gridded and area:
        ctx.report(0.05, "area mean")
        da = regions.regional_mean(da, inputs.region, bbox=inputs.bbox)
    if inputs.month:
        if not gridded or area:
            da = ctx.compute(da, 0.1, 0.4, "monthly means")
        step = resample.resample_time(da, "month") if finer_than_monthly(da) else da
        da = resample.select_month(step, int(inputs.month))
    reference = period(inputs.relative_to, "relative_to")
    if inputs.method == "sen":
        result = trends.sens_slope(da, per=inputs.per, relative_to=reference)
    else:
        result = trends.linear_trend(
            da, per=inputs.per, relative_to=reference, autocorrelation=inputs.autocorrelation
        )
    if gridded and not area:
        return Result(
            collection=result,
            title=f"Trend of {da.name} in {source.title}",
            description=f"Per-cell {inputs.method} trend per {inputs.per} of {da.name} "
            f"({source.id}).",
            sources=[source],
            message="fitting trends per cell",
        )
    result = ctx.compute(result, 0.4, 0.95, "fitting the trend")
    summary = {
        "collection": source.id,
        "variable": str(da.name),
        **trends.trend_summary(result),
        "uncertainty": uncertainty_method(inputs),
    }
    return Result(summary=summary, sources=[source])


def uncertainty_method(inputs: TrendInputs) -> str:
    """Say how the trend's interval and p-value were made."""
    if inputs.method == "sen":
        return "Mann-Kendall variance (ties corrected), no autocorrelation correction"
    if inputs.autocorrelation:
        return "effective sample size from the residuals' lag-1 autocorrelation"
    return "independent residuals (no autocorrelation correction)"


trend = Operation(
    id="trend",
    title="Linear trend (OLS) or Sen's slope with Mann-Kendall test",
    description="The trend of a series (a gridless collection, or the area mean of a gridded "
    "one over a bbox or region) with its standard error, confidence interval and p-value; or, "
    "for a gridded collection without an area, a map of per-cell trends published as a "
    "derived collection.",
    inputs=TrendInputs,
    outputs={
        "summary": OutputDef("Trend statistics", "summary"),
        "collection": OutputDef("Trend map", "collection"),
    },
    run=run,
    label="trend map",
    order=30,
)
