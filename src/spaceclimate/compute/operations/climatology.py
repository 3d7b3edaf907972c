"""``climatology`` and ``anomaly``: calendar-slot means over a baseline, and departures."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from spaceclimate.compute import climatology as clim
from spaceclimate.compute.registry import (
    CollectionId,
    Interval,
    Operation,
    OperationContext,
    OperationInputs,
    OutputDef,
    Period,
    Result,
    VariableName,
)
from spaceclimate.compute.selection import period, pick_variable, select


class ClimatologyInputs(OperationInputs):
    """Inputs of ``climatology``."""

    collection: CollectionId
    variable: VariableName | None = None
    baseline: Period


class AnomalyInputs(OperationInputs):
    """Inputs of ``anomaly``."""

    collection: CollectionId
    variable: VariableName | None = None
    baseline: Period
    datetime: Interval | None = None
    kind: Annotated[
        Literal["absolute", "relative"],
        Field(
            title="Difference",
            description="absolute (in the data's units) or relative (in % of the climatology).",
            json_schema_extra={
                "x-sco-labels": {
                    "absolute": "absolute (units of the data)",
                    "relative": "relative (% of the climatology)",
                }
            },
        ),
    ] = "absolute"


def run_climatology(ctx: OperationContext, inputs: ClimatologyInputs) -> Result:
    """The mean of each calendar slot over the baseline."""
    source = ctx.open(inputs.collection)
    da = pick_variable(source.ds, inputs.variable)
    result = clim.climatology(da, period(inputs.baseline, "baseline"))
    return Result(
        collection=result.to_dataset(name=f"{da.name}_climatology"),
        title=f"Climatology {inputs.baseline} of {da.name} in {source.title}",
        description=f"Mean of each calendar slot of {da.name} over {inputs.baseline}.",
        sources=[source],
        message="climatology",
    )


def run_anomaly(ctx: OperationContext, inputs: AnomalyInputs) -> Result:
    """Every step minus the baseline climatology of its calendar slot."""
    source = ctx.open(inputs.collection)
    da = pick_variable(source.ds, inputs.variable)
    result = clim.anomaly(da, baseline=period(inputs.baseline, "baseline"), kind=inputs.kind)
    if inputs.datetime:
        result = select(result.to_dataset(name="a"), inputs.datetime)["a"]
    return Result(
        collection=result.to_dataset(name=f"{da.name}_anomaly"),
        title=f"Anomalies of {da.name} against {inputs.baseline}, {source.title}",
        description=f"{da.name} minus its {inputs.baseline} climatology ({source.id}).",
        sources=[source],
        message="anomalies",
    )


climatology = Operation(
    id="climatology",
    title="Climatology over a baseline period",
    description="The mean of each calendar slot over the baseline, published as a derived "
    "collection.",
    inputs=ClimatologyInputs,
    outputs={"collection": OutputDef("Climatology", "collection")},
    run=run_climatology,
    label="climatology",
    order=40,
)

anomaly = Operation(
    id="anomaly",
    title="Anomalies against a baseline climatology",
    description="The climatology of each calendar slot (day of year for daily data, month for "
    "monthly data) over the baseline period, subtracted from every time step; published as a "
    "derived collection.",
    inputs=AnomalyInputs,
    outputs={"collection": OutputDef("Anomalies", "collection")},
    run=run_anomaly,
    label="anomaly map",
    order=20,
)
