"""How many decoded bytes an operation would read: its input collections, after selection."""

from __future__ import annotations

from collections.abc import Sequence

import xarray as xr

from spaceclimate.compute.registry import Operation, OperationInputs
from spaceclimate.compute.selection import select
from spaceclimate.compute.subset import estimate_bytes
from spaceclimate.jobs.env import JobEnv
from spaceclimate.processes.context import JobContext


def input_bytes(ds: xr.Dataset, variables: Sequence[str] | None = None) -> int:
    """Decoded bytes of the variables an operation reads."""
    if variables:
        ds = ds[[v for v in variables if v in ds.data_vars]]
    return estimate_bytes(ds, data_only=True)


def estimate(operation: Operation, env: JobEnv, inputs: OperationInputs) -> int:
    """Estimate the decoded bytes *operation* reads from its input collections.

    Each collection input is opened and cut to the ``datetime`` input; the main collection
    (``collection``) also to the ``bbox`` when no region or polygon names the area instead.
    The variables counted are those of the collection's variable inputs (all when none).
    """
    schemas = operation.input_schemas()
    values = inputs.values()
    ctx = JobContext(env)
    total = 0
    for name, spec in schemas.items():
        if spec["schema"].get("x-sco-kind") != "collection" or name not in values:
            continue
        ds = ctx.open(str(values[name]), name).ds
        bbox = None
        if name == "collection" and "region" not in values and "geometry" not in values:
            bbox = values.get("bbox")
            if bbox is not None and bbox[0] > bbox[2]:
                bbox = None  # across the antimeridian: counted whole (never under)
        ds = select(ds, values.get("datetime"), bbox)
        chosen: list[str] = []
        for other, other_spec in schemas.items():
            if other_spec["schema"].get("x-sco-of") == name and other in values:
                value = values[other]
                chosen.extend(value if isinstance(value, list) else [str(value)])
        total += input_bytes(ds, chosen or None)
    return total
