"""A backend-neutral filter expression tree for item search, and sort keys.

The API parses CQL2 (text or JSON) into these nodes; each catalog backend translates them
into its own query language (the SQL backend: :mod:`spaceclimate.catalog.sql_filter`).

Properties are named as in a STAC Item: ``id`` and ``collection`` (top-level fields),
``datetime``, ``start_datetime``, ``end_datetime`` (the item's time range: ``datetime`` and
``start_datetime`` both mean its start, ``end_datetime`` its end), and any other name is a
key of ``properties``. Literal values are typed: ``str``, ``int``, ``float``, ``bool`` or a
timezone-aware ``datetime``; the type of the literal decides how the property is compared.
A comparison with a missing (null) property is never true, not even under ``Not``
(SQL three-valued logic).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

#: A literal value of a comparison.
Scalar = str | int | float | bool | datetime

#: Comparison operators.
CompareOp = Literal["=", "<>", "<", "<=", ">", ">="]

#: How a property sorts: as text, as a number, as a boolean or as an ISO 8601 instant.
SortKind = Literal["string", "number", "boolean", "datetime"]


@dataclass(frozen=True)
class Compare:
    """``prop op value``."""

    prop: str
    op: CompareOp
    value: Scalar


@dataclass(frozen=True)
class Like:
    """``prop LIKE pattern`` (case-sensitive): ``%`` any run, ``_`` one char, ``\\`` escapes."""

    prop: str
    pattern: str


@dataclass(frozen=True)
class Between:
    """``low <= prop <= high``."""

    prop: str
    low: Scalar
    high: Scalar


@dataclass(frozen=True)
class In:
    """``prop IN (values)``."""

    prop: str
    values: tuple[Scalar, ...]


@dataclass(frozen=True)
class IsNull:
    """``prop IS NULL`` (missing or null)."""

    prop: str


@dataclass(frozen=True)
class Intersects:
    """The item's geometry intersects a GeoJSON geometry (lon/lat, CRS84).

    ``geojson`` is the geometry as compact JSON text; ``bounds`` its (minx, miny, maxx, maxy).
    """

    geojson: str
    bounds: tuple[float, float, float, float]

    @classmethod
    def from_geometry(
        cls, geometry: dict[str, Any], bounds: tuple[float, float, float, float]
    ) -> Intersects:
        """Build the node from a GeoJSON geometry mapping and its bounds."""
        return cls(json.dumps(geometry, separators=(",", ":"), sort_keys=True), bounds)


@dataclass(frozen=True)
class And:
    """All of *args*."""

    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    """Any of *args*."""

    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Not:
    """Not *arg*."""

    arg: Expr


Expr = Compare | Like | Between | In | IsNull | Intersects | And | Or | Not


@dataclass(frozen=True)
class SortKey:
    """One sort key of a search: a property (named as in filters), its direction and kind."""

    prop: str
    descending: bool = False
    kind: SortKind = field(default="string")


def conjunction(*exprs: Expr | None) -> Expr | None:
    """Return the AND of the given expressions, skipping None (None when all are None)."""
    present = tuple(e for e in exprs if e is not None)
    if not present:
        return None
    return present[0] if len(present) == 1 else And(present)
