"""The analytics operations by name, for a processing service to list, describe and run.

Every operation is a pure function: its first argument (and, for comparisons, its second)
is harmonised data (an :class:`xarray.Dataset` or :class:`xarray.DataArray`), every other
parameter is a plain JSON value (string, number, boolean, list), and it returns an
:class:`xarray.DataArray`/:class:`xarray.Dataset` with units, CF attributes and provenance.
:func:`describe` turns the signatures and docstrings into plain dicts for a process list.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any

from spaceclimate.compute import (
    climatology,
    compare,
    indicators,
    regions,
    regrid,
    resample,
    seaice,
    trends,
)
from spaceclimate.errors import NotFoundError

#: Operation name → function. The names are stable identifiers for process ids.
OPERATIONS: dict[str, Callable[..., Any]] = {
    "climatology": climatology.climatology,
    "anomaly": climatology.anomaly,
    "linear-trend": trends.linear_trend,
    "sens-slope": trends.sens_slope,
    "regional-mean": regions.regional_mean,
    "sea-ice-extent": seaice.sea_ice_extent_area,
    "sea-ice-index-monthly": seaice.index_monthly_means,
    "sea-ice-index-month": seaice.index_month_means,
    "resample": resample.resample_time,
    "regrid": regrid.regrid,
    "compare": compare.compare,
    "days-over-threshold": indicators.days_over_threshold,
    "degree-days-over-threshold": indicators.degree_days_over_threshold,
    "period-statistic": indicators.period_statistic,
}
#: Parameters that take harmonised data rather than a JSON value.
DATA_PARAMETERS = ("data", "a", "b", "target", "reference")


def _jsonable_default(value: Any) -> Any:
    if value is inspect.Parameter.empty:
        return None
    return list(value) if isinstance(value, tuple) else value


def _literal_values(hint: Any) -> list[Any]:
    """Return the allowed values of a ``Literal[...]`` hint (also inside ``X | None``)."""
    if typing.get_origin(hint) is typing.Literal:
        return list(typing.get_args(hint))
    values: list[Any] = []
    for arg in typing.get_args(hint):
        values.extend(_literal_values(arg))
    return values


def describe(name: str) -> dict[str, Any]:
    """Return ``{id, summary, description, inputs, parameters}`` of operation *name*."""
    if name not in OPERATIONS:
        raise NotFoundError(f"operation: no {name!r}; known: {', '.join(sorted(OPERATIONS))}")
    func = OPERATIONS[name]
    doc = inspect.getdoc(func) or ""
    summary, _, rest = doc.partition("\n")
    hints = typing.get_type_hints(func)
    inputs: list[dict[str, Any]] = []
    parameters: list[dict[str, Any]] = []
    for param in inspect.signature(func).parameters.values():
        entry: dict[str, Any] = {
            "name": param.name,
            "type": str(param.annotation),
            "required": param.default is inspect.Parameter.empty,
            "default": _jsonable_default(param.default),
        }
        choices = _literal_values(hints.get(param.name))
        if choices:
            entry["enum"] = choices
        (inputs if param.name in DATA_PARAMETERS else parameters).append(entry)
    return {
        "id": name,
        "summary": summary.strip(),
        "description": rest.strip(),
        "inputs": inputs,
        "parameters": parameters,
        "function": f"{func.__module__}.{func.__qualname__}",
    }


def describe_all() -> list[dict[str, Any]]:
    """Return :func:`describe` of every operation, sorted by name."""
    return [describe(name) for name in sorted(OPERATIONS)]
