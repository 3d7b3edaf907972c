"""The queryables of STAC items: which properties filters and sortby may name, and their types.

The table is data (``queryables.yaml`` beside this module); ``/stac/queryables`` serves it as
a JSON Schema.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any, Literal

import yaml

from spaceclimate.catalog.filters import SortKind

#: How the API treats a queryable's values.
Kind = Literal["string", "number", "boolean", "datetime", "geometry"]

JSON_SCHEMA = "https://json-schema.org/draft/2019-09/schema"
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"


@cache
def queryables() -> dict[str, dict[str, Any]]:
    """Return ``{property: entry}`` as read from ``queryables.yaml`` (with ``sortable``)."""
    text = files("spaceclimate.api.stac").joinpath("queryables.yaml").read_text("utf-8")
    table: dict[str, dict[str, Any]] = yaml.safe_load(text)
    return table


def kind(name: str) -> Kind:
    """Return the kind of the queryable *name* (which must exist)."""
    entry = queryables()[name]
    if "$ref" in entry:
        return "geometry"
    if entry.get("format") == "date-time":
        return "datetime"
    if entry.get("type") in ("integer", "number"):
        return "number"
    if entry.get("type") == "boolean":
        return "boolean"
    return "string"


def sort_kind(name: str) -> SortKind:
    """Return how the queryable *name* sorts."""
    found = kind(name)
    return "string" if found == "geometry" else found


def sortable() -> list[str]:
    """Return the names sortby accepts."""
    return [name for name, entry in queryables().items() if entry.get("sortable")]


def normalise(name: str) -> str:
    """Drop a ``properties.`` prefix (``properties.datetime`` and ``datetime`` are the same)."""
    return name.removeprefix("properties.")


def schema_document(href: str, title: str) -> dict[str, Any]:
    """Return the queryables as a JSON Schema document whose ``$id`` is *href*."""
    properties = {
        name: {k: v for k, v in entry.items() if k != "sortable"}
        for name, entry in queryables().items()
    }
    return {
        "$schema": JSON_SCHEMA,
        "$id": href,
        "type": "object",
        "title": title,
        "properties": properties,
        "additionalProperties": False,
    }
