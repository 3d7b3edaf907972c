"""Endpoints of the STAC API (mounted at ``/stac``)."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import JSONResponse

from spaceclimate.api.stac import links as L
from spaceclimate.api.stac.conformance import CONFORMANCE
from spaceclimate.api.stac.federated import federated_search
from spaceclimate.api.stac.fields import apply_fields
from spaceclimate.api.stac.queryables import schema_document
from spaceclimate.api.stac.search import (
    DEFAULT_COLLECTION_LIMIT,
    DEFAULT_ITEM_LIMIT,
    MAX_LIMIT,
    ItemSearch,
    ItemSearchParams,
    SearchBody,
    collection_search,
    from_get,
    from_post,
    get_paging_links,
    post_paging_links,
    restrict_to_collection,
)
from spaceclimate.api.urls import base_url
from spaceclimate.catalog import SearchResult
from spaceclimate.errors import InputError, NotFoundError
from spaceclimate.services.context import HubContext
from spaceclimate.services.deps import Context

#: How many known item ids a 404 for an unknown item lists.
KNOWN_ITEMS_SHOWN = 20

_DOC = {
    "bbox": "minx,miny,maxx,maxy in lon/lat (a 6-number 3-D bbox drops its heights).",
    "intersects": "A GeoJSON geometry (lon/lat) the item footprint must intersect.",
    "datetime": "RFC 3339 date-time with its offset (2017-06-06T12:00:00Z), or an interval "
    "start/end of them with '..' (or nothing) for one open end "
    "(2017-06-06T00:00:00Z/2017-06-06T23:59:59Z, 2021-12-01T00:00:00Z/..). Static items (no "
    "time axis) never match a time filter.",
    "limit": f"Page size, at least 1; a larger value than {MAX_LIMIT} asks for {MAX_LIMIT}.",
    "token": "Paging token, from a next/prev link.",
    "filter": "CQL2 filter (text by default, or JSON with filter-lang=cql2-json); see "
    "/stac/queryables for the properties it may name.",
    "filter-lang": "cql2-text (default for GET) or cql2-json.",
    "filter-crs": "Only http://www.opengis.net/def/crs/OGC/1.3/CRS84.",
    "sortby": "Comma-separated sort fields, '-' for descending: -properties.datetime,id",
    "fields": "Comma-separated fields to include, '-' to exclude: id,properties.sco:ecv,-assets",
    "q": "Free text over titles, descriptions, keywords and item ids: all words must match; "
    "comma-separated groups are alternatives ('sea ice,snow').",
    "ecv": "Hub extension (non-standard): only collections of this ECV id, e.g. sea_ice.",
    "agency": "Hub extension (non-standard): only collections of this provider, e.g. ESA.",
}


def _json(body: dict[str, Any], media_type: str = L.JSON) -> JSONResponse:
    return JSONResponse(body, media_type=media_type)


def _item_params(
    bbox: Annotated[str | None, Query(description=_DOC["bbox"])] = None,
    intersects: Annotated[str | None, Query(description=_DOC["intersects"])] = None,
    datetime_: Annotated[str | None, Query(alias="datetime", description=_DOC["datetime"])] = None,
    ids: Annotated[str | None, Query(description="Comma-separated item ids.")] = None,
    limit: Annotated[int, Query(ge=1, description=_DOC["limit"])] = (DEFAULT_ITEM_LIMIT),
    token: Annotated[str | None, Query(description=_DOC["token"])] = None,
    filter_: Annotated[str | None, Query(alias="filter", description=_DOC["filter"])] = None,
    filter_lang: Annotated[
        str | None, Query(alias="filter-lang", description=_DOC["filter-lang"])
    ] = None,
    filter_crs: Annotated[
        str | None, Query(alias="filter-crs", description=_DOC["filter-crs"])
    ] = None,
    sortby: Annotated[str | None, Query(description=_DOC["sortby"])] = None,
    fields: Annotated[str | None, Query(description=_DOC["fields"])] = None,
    q: Annotated[str | None, Query(description=_DOC["q"])] = None,
    ecv: Annotated[str | None, Query(description=_DOC["ecv"])] = None,
    agency: Annotated[str | None, Query(description=_DOC["agency"])] = None,
) -> ItemSearchParams:
    """Collect the GET parameters shared by item search and a collection's items."""
    return ItemSearchParams(
        bbox=bbox,
        intersects=intersects,
        datetime=datetime_,
        ids=ids,
        limit=limit,
        token=token,
        filter=filter_,
        filter_lang=filter_lang,
        filter_crs=filter_crs,
        sortby=sortby,
        fields=fields,
        q=q,
        ecv=ecv,
        agency=agency,
    )


ItemParams = Annotated[ItemSearchParams, Depends(_item_params)]


def build(ctx: HubContext) -> APIRouter:
    """Return the STAC API router."""
    router = APIRouter()

    def collection_or_404(ctx: HubContext, cid: str) -> dict[str, Any]:
        return ctx.collection(cid)

    def run(
        ctx: HubContext, search: ItemSearch, base: str
    ) -> tuple[list[dict[str, Any]], SearchResult]:
        """Search (the catalog looks the named collections up on the same connection)."""
        result = ctx.catalog.search(search.query)
        if result.unknown_collections:
            known = ctx.catalog.collection_ids()
            raise InputError(
                f"parameter 'collections': no collection {result.unknown_collections[0]!r}; "
                f"known: {', '.join(known)}",
                known=known,
            )
        features = [apply_fields(L.item_out(f, base), search.fields) for f in result.features]
        return features, result

    def feature_collection(
        features: list[dict[str, Any]], result: SearchResult, links: list[dict[str, Any]]
    ) -> JSONResponse:
        """The page; ``numberMatched`` only when exact (not when the count was stopped)."""
        body: dict[str, Any] = {"type": "FeatureCollection", "features": features, "links": links}
        if result.matched_exact:
            body["numberMatched"] = result.matched
        body["numberReturned"] = len(features)
        return _json(body, L.GEOJSON)

    # -- landing and conformance ------------------------------------------------------------
    def stac_conformance(request: Request) -> list[str]:
        """The STAC API's classes and those of extensions mounted beside it (transactions)."""
        plugins = getattr(request.app.state, "plugins", [])
        extra = [c for p in plugins if p.prefix == "/stac" for c in p.conformance]
        return list(dict.fromkeys([*CONFORMANCE, *extra]))

    @router.get("", summary="STAC landing page", operation_id="stacLanding")
    def landing(request: Request, *, ctx: Context) -> JSONResponse:
        """The STAC API root: a Catalog linking conformance, collections, search and docs."""
        base = base_url(request, ctx)
        collections = ctx.catalog.list_collections()
        return _json(L.landing_page(base, stac_conformance(request), collections))

    router.add_api_route("/", landing, methods=["GET"], include_in_schema=False)

    @router.get("/conformance", summary="STAC conformance classes", operation_id="stacConformance")
    def conformance(request: Request) -> JSONResponse:
        """List the conformance classes of the STAC API and its extensions."""
        return _json({"conformsTo": stac_conformance(request)})

    @router.get(
        "/queryables",
        summary="Queryables of item search",
        operation_id="stacQueryables",
        responses={200: {"content": {L.SCHEMA_JSON: {}}}},
    )
    def queryables(request: Request, *, ctx: Context) -> JSONResponse:
        """JSON Schema of the properties that filters and sortby may name."""
        href = f"{L.stac_root(base_url(request, ctx))}/queryables"
        doc = schema_document(href, "Queryables of the hub's STAC items")
        return _json(doc, L.SCHEMA_JSON)

    # -- collections ------------------------------------------------------------------------
    @router.get(
        "/collections", summary="Collections (collection search)", operation_id="stacCollections"
    )
    def collections(
        request: Request,
        bbox: Annotated[str | None, Query(description=_DOC["bbox"])] = None,
        datetime_: Annotated[
            str | None, Query(alias="datetime", description=_DOC["datetime"])
        ] = None,
        q: Annotated[str | None, Query(description=_DOC["q"])] = None,
        ecv: Annotated[str | None, Query(description=_DOC["ecv"])] = None,
        agency: Annotated[str | None, Query(description=_DOC["agency"])] = None,
        limit: Annotated[int, Query(ge=1, description=_DOC["limit"])] = (DEFAULT_COLLECTION_LIMIT),
        token: Annotated[str | None, Query(description=_DOC["token"])] = None,
        *,
        ctx: Context,
    ) -> JSONResponse:
        """List collections, optionally searched by bbox, time, free text, ECV and agency."""
        base = base_url(request, ctx)
        query = collection_search(
            bbox=bbox, datetime=datetime_, q=q, ecv=ecv, agency=agency, limit=limit, token=token
        )
        result = ctx.catalog.search_collections(query)
        docs = [L.collection_out(d, base) for d in result.features]
        url = f"{base}{request.url.path}"
        self_href = f"{url}?{request.url.query}" if request.url.query else url
        links = [
            L.link("self", self_href),
            L.link("root", L.stac_root(base)),
            L.link("parent", L.stac_root(base)),
            *get_paging_links(
                url,
                list(request.query_params.multi_items()),
                query,
                (result.matched, len(docs)),
                L.JSON,
            ),
        ]
        return _json(
            {
                "collections": docs,
                "links": links,
                "numberMatched": result.matched,
                "numberReturned": len(docs),
            }
        )

    @router.get(
        "/collections/{collection_id}", summary="One collection", operation_id="stacCollection"
    )
    def collection(request: Request, collection_id: str, *, ctx: Context) -> JSONResponse:
        """A STAC Collection with links to its items, Zarr cube, tiles and EDR endpoint."""
        doc = collection_or_404(ctx, collection_id)
        return _json(L.collection_out(doc, base_url(request, ctx)))

    @router.get(
        "/collections/{collection_id}/queryables",
        summary="Queryables of a collection's items",
        operation_id="stacCollectionQueryables",
        responses={200: {"content": {L.SCHEMA_JSON: {}}}},
    )
    def collection_queryables(
        request: Request, collection_id: str, *, ctx: Context
    ) -> JSONResponse:
        """JSON Schema of the properties filters on this collection's items may name."""
        collection_or_404(ctx, collection_id)
        href = f"{L.collection_href(base_url(request, ctx), collection_id)}/queryables"
        doc = schema_document(href, f"Queryables of the items of {collection_id}")
        return _json(doc, L.SCHEMA_JSON)

    # -- items ------------------------------------------------------------------------------
    @router.get(
        "/collections/{collection_id}/items",
        summary="Items of a collection",
        operation_id="stacItems",
        responses={200: {"content": {L.GEOJSON: {}}}},
    )
    def items(
        request: Request, collection_id: str, params: ItemParams, *, ctx: Context
    ) -> JSONResponse:
        """A page of the items of a collection (with the item search parameters)."""
        collection_or_404(ctx, collection_id)
        base = base_url(request, ctx)
        search = restrict_to_collection(from_get(params), collection_id)
        features, result = run(ctx, search, base)
        url = f"{base}{request.url.path}"
        here = L.collection_href(base, collection_id)
        links = [
            L.link("self", f"{url}?{request.url.query}" if request.url.query else url, L.GEOJSON),
            L.link("root", L.stac_root(base)),
            L.link("parent", here),
            L.link("collection", here),
            *get_paging_links(
                url,
                list(request.query_params.multi_items()),
                search.query,
                (result.matched, len(features)),
            ),
        ]
        return feature_collection(features, result, links)

    @router.get(
        "/collections/{collection_id}/items/{item_id}",
        summary="One item",
        operation_id="stacItem",
        responses={200: {"content": {L.GEOJSON: {}}}},
    )
    def item(request: Request, collection_id: str, item_id: str, *, ctx: Context) -> JSONResponse:
        """A STAC Item, its source asset served as a NetCDF download of its slice."""
        collection_or_404(ctx, collection_id)
        try:
            doc = ctx.catalog.get_item(collection_id, item_id)
        except NotFoundError:
            page = ctx.catalog.list_items(collection_id, limit=KNOWN_ITEMS_SHOWN, offset=0)
            known = [f["id"] for f in page.features]
            more = f" (and {page.matched - len(known)} more)" if page.matched > len(known) else ""
            raise NotFoundError(
                f"no item {item_id!r} in collection {collection_id!r}; "
                f"known: {', '.join(known)}{more}",
                known=known,
            ) from None
        return _json(L.item_out(doc, base_url(request, ctx)), L.GEOJSON)

    # -- search -----------------------------------------------------------------------------
    @router.get(
        "/search",
        summary="Item search (GET)",
        operation_id="stacSearchGet",
        responses={200: {"content": {L.GEOJSON: {}}}},
    )
    def search_get(
        request: Request,
        params: ItemParams,
        collections: Annotated[
            str | None, Query(description="Comma-separated collection ids.")
        ] = None,
        federated: Annotated[
            bool,
            Query(
                description="Ask this hub's live peers too, under a deadline; the answer "
                "says which answered (sco:federation) and is flagged partial when any did not."
            ),
        ] = False,
        *,
        ctx: Context,
    ) -> JSONResponse:
        """Search items across collections (and, federated, across this hub's peers)."""
        base = base_url(request, ctx)
        search = from_get(replace(params, collections=collections))
        if federated:
            return federated_search(request, ctx, search, base)
        features, result = run(ctx, search, base)
        url = f"{base}{request.url.path}"
        links = [
            L.link("self", f"{url}?{request.url.query}" if request.url.query else url, L.GEOJSON),
            L.link("root", L.stac_root(base)),
            *get_paging_links(
                url,
                list(request.query_params.multi_items()),
                search.query,
                (result.matched, len(features)),
            ),
        ]
        return feature_collection(features, result, links)

    @router.post(
        "/search",
        summary="Item search (POST)",
        operation_id="stacSearchPost",
        responses={200: {"content": {L.GEOJSON: {}}}},
    )
    def search_post(
        request: Request, body: Annotated[SearchBody | None, Body()] = None, *, ctx: Context
    ) -> JSONResponse:
        """Search items across collections; the body is STAC item search JSON."""
        body = body or SearchBody.model_validate({})
        base = base_url(request, ctx)
        search = from_post(body)
        features, result = run(ctx, search, base)
        url = f"{base}{request.url.path}"
        sent = body.model_dump(by_alias=True, exclude_none=True)
        sent.pop("token", None)
        links = [
            L.link("self", url, L.GEOJSON, method="POST", body=sent),
            L.link("root", L.stac_root(base)),
            *post_paging_links(url, sent, search.query, (result.matched, len(features))),
        ]
        return feature_collection(features, result, links)

    return router
