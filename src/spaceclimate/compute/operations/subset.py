"""``subset``: variables, a bbox and a time range of a collection, as a NetCDF file."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from spaceclimate.compute.export import collection_attrs
from spaceclimate.compute.registry import (
    BBox,
    CollectionId,
    Interval,
    Operation,
    OperationContext,
    OperationInputs,
    OutputDef,
    Result,
)
from spaceclimate.compute.selection import pick_variable, select


class SubsetInputs(OperationInputs):
    """Inputs of ``subset``."""

    collection: CollectionId
    variables: (
        Annotated[
            list[str],
            Field(
                title="Variables",
                description="Data variables of the collection's cube (default, all of them).",
                max_length=50,
                json_schema_extra={"x-sco-kind": "variables", "x-sco-of": "collection"},
            ),
        ]
        | None
    ) = None
    bbox: BBox | None = None
    datetime: Interval | None = None


def run(ctx: OperationContext, inputs: SubsetInputs) -> Result:
    """Select the subset (lazily); the hub writes it to a file."""
    source = ctx.open(inputs.collection)
    ds = source.ds
    if inputs.variables:
        for name in inputs.variables:
            pick_variable(ds, name, "variables")
        ds = ds[list(inputs.variables)]
    ds = select(ds, inputs.datetime, inputs.bbox)
    ds.attrs = {**ds.attrs, **collection_attrs(source.doc)}
    return Result(file=ds, file_name=f"{source.id}-subset.nc", sources=[source])


subset = Operation(
    id="subset",
    title="Subset to a file",
    description="A subset of a collection by variables, bbox and time range written to a "
    "NetCDF file (CF, with provenance and citation) — the way to get a request too large to "
    "answer at once: submit it as an asynchronous job and download the result.",
    inputs=SubsetInputs,
    outputs={"file": OutputDef("NetCDF file", "file")},
    run=run,
    label="NetCDF subset",
    order=100,
)
