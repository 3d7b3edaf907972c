"""``compare``: bias, RMSD and correlation of product A against product B."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from spaceclimate.compute import compare as comparison
from spaceclimate.compute.registry import (
    CollectionId,
    Interval,
    Operation,
    OperationContext,
    OperationInputs,
    OutputDef,
    Result,
    variable_of,
)
from spaceclimate.compute.selection import pick_variable, select


class CompareInputs(OperationInputs):
    """Inputs of ``compare``."""

    a: Annotated[CollectionId, Field(title="Product A")]
    variable_a: variable_of("a", "Variable of A") | None = None  # type: ignore[valid-type]
    b: Annotated[CollectionId, Field(title="Product B (reference)")]
    variable_b: variable_of("b", "Variable of B") | None = None  # type: ignore[valid-type]
    datetime: Interval | None = None


def run(ctx: OperationContext, inputs: CompareInputs) -> Result:
    """Regrid A onto B's grid and compare them over their common time steps."""
    a_src = ctx.open(inputs.a, "a")
    b_src = ctx.open(inputs.b, "b")
    a = pick_variable(select(a_src.ds, inputs.datetime), inputs.variable_a, "variable_a")
    b = pick_variable(select(b_src.ds, inputs.datetime), inputs.variable_b, "variable_b")
    result = ctx.compute(comparison.compare(a, b), 0.1, 0.85, "comparing")
    return Result(
        summary={"a": a_src.id, "b": b_src.id, **comparison.summary(result)},
        collection=result,
        title=f"{a_src.id} against {b_src.id}: bias, RMSD, correlation",
        description=f"Intercomparison of {a.name} ({a_src.id}) with {b.name} ({b_src.id}).",
        sources=[a_src, b_src],
    )


compare = Operation(
    id="compare",
    title="Intercomparison of two products",
    description="Bias, RMSD and correlation maps of product A against product B on B's grid "
    "(A is regridded conservatively) over their common time steps, and an area-weighted "
    "summary.",
    inputs=CompareInputs,
    outputs={
        "summary": OutputDef("Summary statistics", "summary"),
        "collection": OutputDef("Bias, RMSD and correlation maps", "collection"),
    },
    run=run,
    label="comparison maps",
    order=80,
)
