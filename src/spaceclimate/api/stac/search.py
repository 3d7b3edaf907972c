"""Item search and collection search requests: from GET or POST to a catalog query, and paging.

Paging is by offset: a page's ``next`` link carries ``token=<offset of the next page>``
(GET: in the query string; POST: in the ``body``, with ``method: POST`` and ``merge: true``),
``prev`` likewise. A ``limit`` over :data:`MAX_LIMIT` asks for the maximum (OGC API Features:
not an error); below 1 it is a 400. ``datetime`` is RFC 3339 strictly
(:func:`spaceclimate.params.parse_interval` with ``strict=True``): a date-time with its offset,
or an interval of two with ``..`` (or nothing) for one open end. Non-standard parameters of
the hub: ``ecv`` (an ECV id such as ``sea_ice``) and ``agency`` (a provider name such as
``ESA``), on item and collection search.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field, field_validator

from spaceclimate.api.stac.fields import (
    FieldsSpec,
    parse_fields_body,
    parse_fields_text,
    parse_sortby_body,
    parse_sortby_text,
)
from spaceclimate.api.stac.filter import check_filter_crs, parse_filter, parse_geometry
from spaceclimate.api.stac.links import GEOJSON, link
from spaceclimate.catalog import SearchQuery
from spaceclimate.catalog.filters import conjunction
from spaceclimate.errors import InputError
from spaceclimate.params import check_bbox, parse_bbox, parse_interval, parse_list

MAX_LIMIT = 10_000
MAX_IDS = 1000  # most ids or collections one search may list
DEFAULT_ITEM_LIMIT = 10
DEFAULT_COLLECTION_LIMIT = 100
#: Item search counts matches up to this many; past it, a page has no ``numberMatched``
#: (a full count of a large catalog costs more than the page; a page with no item after it
#: is never counted at all).
COUNT_LIMIT = 10_000


class FieldsBody(BaseModel):
    """The fields extension's POST form."""

    model_config = ConfigDict(extra="forbid")
    include: list[str] | None = None
    exclude: list[str] | None = None


class SortBody(BaseModel):
    """One sort key of the sort extension's POST form."""

    model_config = ConfigDict(extra="forbid")
    field: str
    direction: str = "asc"


class SearchBody(BaseModel):
    """Body of ``POST /stac/search`` (STAC item search with filter, sort, fields, free text)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    bbox: list[float] | None = Field(None, description="minx,miny,maxx,maxy (lon/lat)")
    intersects: dict[str, Any] | None = Field(None, description="A GeoJSON geometry (lon/lat)")
    datetime: str | None = Field(None, description="RFC 3339 instant or start/end ('..' open)")
    ids: list[str] | None = None
    collections: list[str] | None = None
    limit: int = Field(
        DEFAULT_ITEM_LIMIT, ge=1, description=f"Page size; over {MAX_LIMIT} means {MAX_LIMIT}"
    )
    token: str | None = Field(None, description="Paging token from a next/prev link")
    filter: dict[str, Any] | bool | str | None = Field(None, description="CQL2 JSON (or text)")
    filter_lang: str | None = Field(None, alias="filter-lang")
    filter_crs: str | None = Field(None, alias="filter-crs")
    sortby: list[SortBody] | str | None = None
    fields: FieldsBody | None = None
    q: str | list[str] | None = Field(None, description="Free text; a list means any of them")
    ecv: str | None = Field(None, description="Hub extension: ECV id, e.g. sea_ice")
    agency: str | None = Field(None, description="Hub extension: provider name, e.g. ESA")
    query: dict[str, Any] | None = Field(
        None, description="Not supported (the query extension): use filter"
    )

    @field_validator("fields", mode="before")
    @classmethod
    def _fields_object(cls, value: Any) -> Any:
        """``fields`` is an object when sent (leave it out for whole items)."""
        if value is None:
            raise ValueError("must be an object with include and/or exclude lists, not null")
        return value


@dataclass(frozen=True)
class ItemSearchParams:
    """The GET form of an item search: every query parameter, as the client sent it."""

    bbox: str | None = None
    intersects: str | None = None
    datetime: str | None = None
    ids: str | None = None
    collections: str | None = None
    limit: int = DEFAULT_ITEM_LIMIT
    token: str | None = None
    filter: str | None = None
    filter_lang: str | None = None
    filter_crs: str | None = None
    sortby: str | None = None
    fields: str | None = None
    q: str | None = None
    ecv: str | None = None
    agency: str | None = None


@dataclass(frozen=True)
class ItemSearch:
    """A normalised item search: the catalog query and the fields to return."""

    query: SearchQuery
    fields: FieldsSpec | None


def parse_token(token: str | None) -> int:
    """Return the offset a paging token stands for (0 when absent)."""
    if token is None or token == "":
        return 0
    if not token.isdigit() or len(token) > 12:
        raise InputError(f"parameter 'token': not a paging token: {token[:40]!r}")
    return int(token)


def page_size(limit: int) -> int:
    """Return the page size a ``limit`` asks for: at most :data:`MAX_LIMIT` (400 below 1)."""
    if limit < 1:
        raise InputError("parameter 'limit': must be at least 1")
    return min(limit, MAX_LIMIT)


def _interval(text: str | None) -> dict[str, Any]:
    span = parse_interval(text, "datetime", strict=True)
    if span is None:
        return {}
    return {"start": span[0], "end": span[1]}


def _intersects_text(text: str | None) -> Any:
    if text is None or not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InputError(f"parameter 'intersects': not JSON ({exc})") from exc


def _free_text(q: str | list[str] | None) -> str | None:
    if q is None:
        return None
    text = ",".join(q) if isinstance(q, list) else q
    return text if text.strip(" ,") else None


def item_search(
    *,
    bbox: list[float] | str | None = None,
    intersects: Any = None,
    datetime: str | None = None,
    ids: list[str] | None = None,
    collections: list[str] | None = None,
    limit: int = DEFAULT_ITEM_LIMIT,
    token: str | None = None,
    filter_value: str | dict[str, Any] | bool | None = None,
    filter_lang: str | None = None,
    filter_crs: str | None = None,
    default_filter_lang: str = "cql2-text",
    sortby: Any = None,
    fields: FieldsSpec | None = None,
    q: str | list[str] | None = None,
    ecv: str | None = None,
    agency: str | None = None,
) -> ItemSearch:
    """Validate the parameters of an item search (every error names its parameter)."""
    limit = page_size(limit)
    for name, values in (("ids", ids), ("collections", collections)):
        if values and len(values) > MAX_IDS:
            raise InputError(f"parameter {name!r}: at most {MAX_IDS} values")
    box = parse_bbox(bbox, "bbox") if isinstance(bbox, str) else None
    if isinstance(bbox, list):
        box = check_bbox([float(v) for v in bbox], "bbox")
    if box is not None and intersects is not None:
        raise InputError("parameter 'intersects': give either bbox or intersects, not both")
    where = parse_geometry(intersects, "intersects") if intersects is not None else None
    check_filter_crs(filter_crs)
    expr = parse_filter(filter_value, filter_lang, default_filter_lang)
    keys = parse_sortby_body(sortby) if not isinstance(sortby, str) else parse_sortby_text(sortby)
    query = SearchQuery(
        bbox=box,
        collections=tuple(collections) if collections else None,
        ids=tuple(ids) if ids else None,
        ecv=ecv or None,
        agency=agency or None,
        q=_free_text(q),
        limit=limit,
        offset=parse_token(token),
        filter=conjunction(where, expr),
        sortby=keys,
        count_limit=COUNT_LIMIT,
        **_interval(datetime),
    )
    return ItemSearch(query, fields)


def from_get(params: ItemSearchParams) -> ItemSearch:
    """Build an item search from GET query parameters."""
    return item_search(
        bbox=params.bbox,
        intersects=_intersects_text(params.intersects),
        datetime=params.datetime,
        ids=parse_list(params.ids),
        collections=parse_list(params.collections),
        limit=params.limit,
        token=params.token,
        filter_value=params.filter,
        filter_lang=params.filter_lang,
        filter_crs=params.filter_crs,
        default_filter_lang="cql2-text",
        sortby=params.sortby or None,
        fields=parse_fields_text(params.fields),
        q=params.q,
        ecv=params.ecv,
        agency=params.agency,
    )


def from_post(body: SearchBody) -> ItemSearch:
    """Build an item search from a POST body."""
    if body.query is not None:
        raise InputError("parameter 'query': the query extension is not supported; use filter")
    sortby: Any = body.sortby
    if isinstance(sortby, list):
        sortby = [s.model_dump() for s in sortby]
    fields = None
    if body.fields is not None:
        given = "include" in body.fields.model_fields_set
        fields = parse_fields_body(body.fields.include, body.fields.exclude, given)
    return item_search(
        bbox=body.bbox,
        intersects=body.intersects,
        datetime=body.datetime,
        ids=body.ids,
        collections=body.collections,
        limit=body.limit,
        token=body.token,
        filter_value=body.filter,
        filter_lang=body.filter_lang,
        filter_crs=body.filter_crs,
        default_filter_lang="cql2-json" if not isinstance(body.filter, str) else "cql2-text",
        sortby=sortby,
        fields=fields,
        q=body.q,
        ecv=body.ecv,
        agency=body.agency,
    )


def collection_search(
    *,
    bbox: str | None,
    datetime: str | None,
    q: str | None,
    ecv: str | None,
    agency: str | None,
    limit: int,
    token: str | None,
) -> SearchQuery:
    """Validate the parameters of a collection search."""
    return SearchQuery(
        bbox=parse_bbox(bbox, "bbox"),
        q=_free_text(q),
        ecv=ecv or None,
        agency=agency or None,
        limit=page_size(limit),
        offset=parse_token(token),
        **_interval(datetime),
    )


def _page_offsets(query: SearchQuery, matched: int, returned: int) -> tuple[int | None, int | None]:
    after = query.offset + returned
    next_offset = after if returned and after < matched else None
    prev_offset = max(0, query.offset - query.limit) if query.offset > 0 else None
    return next_offset, prev_offset


def get_paging_links(
    url: str,
    params: list[tuple[str, str]],
    query: SearchQuery,
    page: tuple[int, int],
    media_type: str = GEOJSON,
) -> list[dict[str, Any]]:
    """Return ``next``/``prev`` links of a GET page: the same query with another token."""
    kept = [(k, v) for k, v in params if k != "token"]
    out = []
    for rel, offset in zip(("next", "prev"), _page_offsets(query, *page), strict=True):
        if offset is not None:
            qs = urlencode([*kept, ("token", str(offset))], safe=",:/")
            out.append(link(rel, f"{url}?{qs}", media_type))
    return out


def post_paging_links(
    url: str, body: dict[str, Any], query: SearchQuery, page: tuple[int, int]
) -> list[dict[str, Any]]:
    """Return ``next``/``prev`` links of a POST page: the same body with another token."""
    out = []
    for rel, offset in zip(("next", "prev"), _page_offsets(query, *page), strict=True):
        if offset is not None:
            out.append(
                link(
                    rel,
                    url,
                    GEOJSON,
                    method="POST",
                    body={**body, "token": str(offset)},
                    merge=True,
                )
            )
    return out


def restrict_to_collection(search: ItemSearch, cid: str) -> ItemSearch:
    """Return *search* limited to the items of collection *cid*."""
    return replace(search, query=replace(search.query, collections=(cid,)))
