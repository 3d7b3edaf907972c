"""STAC API Transactions at ``/stac``: create, replace, update and delete collections and items.

Writes need an API key whose scopes cover the collection (:mod:`spaceclimate.api.security`),
and a provider's key credits no other agency: a document it sends may add to the collection's
providers only agencies of its ``provider:`` scopes (admin keys any).
Every accepted write is published as a new immutable version of the collection, together
with its audit entry, in one database transaction (:mod:`spaceclimate.publish.transactions`).

What a transaction may change depends on the kind of collection
(:mod:`spaceclimate.catalog.records`):

- **catalog-only collections** (created here) are records of data held elsewhere: their
  collection document and items are the client's, checked (:mod:`spaceclimate.catalog.validate`)
  and searchable like any other; asset hrefs are absolute URLs;
- **cube collections** (made by ingest from a recipe) accept a replacement of their
  descriptive metadata (title, description, keywords, license, providers, links, extra assets)
  while the cube's fields stay; the next ingest that changes the cube rebuilds the document
  from its recipe. Their items are the cube's source granules: they change by ingest only,
  and the collection is not deleted over HTTP (409 says so).

``PATCH`` takes a JSON merge patch (RFC 7396, ``application/merge-patch+json`` or
``application/json``) of the document as stored (without the links the hub adds when serving):
a member replaces the stored one (objects are merged member by member), a null removes it.
The patched document is checked like a replacement and published like one, so a patch is a
``PUT`` of the patched document. ``PUT`` and ``PATCH`` answer 200 with the document, or 204
without a body when the request says ``Prefer: return=minimal`` (RFC 7240).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Request, Response
from fastapi.responses import JSONResponse

from spaceclimate.access import ApiKey, AuditEntry, access_for, collection_agencies
from spaceclimate.api.problems import problem_response
from spaceclimate.api.security import WRITE_RESPONSES, actor_of, key_dependency
from spaceclimate.api.stac import links as L
from spaceclimate.api.urls import base_url
from spaceclimate.catalog.sql import SQLCatalogBackend
from spaceclimate.catalog.stac import SERVED_LINK_RELS
from spaceclimate.catalog.validate import (
    check_collection,
    check_item,
    merge_cube_collection,
    merge_patch,
)
from spaceclimate.ecv import list_recipes
from spaceclimate.errors import (
    ConflictError,
    ForbiddenError,
    InputError,
    NotFoundError,
    UnsupportedMediaTypeError,
)
from spaceclimate.processes import list_operations
from spaceclimate.publish.transactions import CatalogWriter, Current
from spaceclimate.services.context import HubContext
from spaceclimate.services.deps import Context
from spaceclimate.services.routers import RouterPlugin

STAC_API = "https://api.stacspec.org"
CONFORMANCE = (
    f"{STAC_API}/v1.0.0/ogcapi-features/extensions/transaction",
    f"{STAC_API}/v1.0.0/collections/extensions/transaction",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
)
#: Media types of a PATCH body: a JSON merge patch (RFC 7396).
MERGE_PATCH = "application/merge-patch+json"
_PATCH_TYPES = (MERGE_PATCH, "application/json")
_UPDATE_RESPONSES: dict[int | str, dict[str, Any]] = {
    204: {"description": "Done; no body (the request said Prefer: return=minimal)"},
    415: problem_response("Not a JSON merge patch (JSON Patch is not supported)"),
    **WRITE_RESPONSES,
}

_COLLECTION_EXAMPLE = {
    "type": "Collection",
    "stac_version": "1.1.0",
    "id": "esa-glacier-outlines",
    "title": "Glacier outlines (example)",
    "description": "Glacier outlines held by the provider; the hub keeps their records.",
    "license": "CC-BY-4.0",
    "providers": [{"name": "ESA", "roles": ["producer", "licensor"]}],
    "extent": {
        "spatial": {"bbox": [[-180, -90, 180, 90]]},
        "temporal": {"interval": [["2000-01-01T00:00:00Z", None]]},
    },
    "links": [],
}
_ITEM_EXAMPLE = {
    "type": "Feature",
    "stac_version": "1.1.0",
    "id": "outlines-2000",
    "geometry": {
        "type": "Polygon",
        "coordinates": [[[-20, 60], [40, 60], [40, 80], [-20, 80], [-20, 60]]],
    },
    "bbox": [-20, 60, 40, 80],
    "properties": {"datetime": "2000-06-01T00:00:00Z"},
    "assets": {"data": {"href": "https://data.example.org/outlines-2000.gpkg"}},
    "links": [],
}


def _drop_served_links(doc: dict[str, Any], base: str) -> dict[str, Any]:
    """Forget the navigation links the hub adds when serving (a GET-modify-PUT round trip)."""
    links = doc.get("links")
    if isinstance(links, list):
        doc = {
            **doc,
            "links": [
                lk
                for lk in links
                if not (
                    isinstance(lk, dict)
                    and lk.get("rel") in SERVED_LINK_RELS
                    and str(lk.get("href", "")).startswith(base)
                )
            ],
        }
    return doc


def _reserved(collection_id: str) -> None:
    """Refuse the ids of recipes and the prefixes of processes' derived collections."""
    if collection_id in list_recipes():
        raise ConflictError(
            f"collection id {collection_id!r} is the product of a recipe: its collection is "
            "made by ingesting its files (POST /ingest)"
        )
    for pid in list_operations():
        if collection_id.startswith(f"{pid}-"):
            raise ConflictError(
                f"collection id {collection_id!r}: ids starting with {pid + '-'!r} are kept for "
                "results of that process"
            )


def _require(key: ApiKey, current: Current, verb: str) -> None:
    assert current.collection is not None
    cid = current.collection_id
    agencies = collection_agencies(current.collection)
    if not key.may_write(cid, agencies):
        owners = ", ".join(sorted(agencies)) or "no provider"
        raise ForbiddenError(f"{key.label()} may not {verb} collection {cid!r} (of {owners})")


def _check_credit(
    key: ApiKey, cid: str, doc: dict[str, Any], before: dict[str, Any] | None = None
) -> None:
    """Refuse a document crediting an agency the key does not speak for (403).

    Agencies the collection already named (*before*) may stay: only those a write adds count.
    """
    added = collection_agencies(doc) - (collection_agencies(before) if before else set())
    foreign = key.foreign_agencies(added)
    if foreign:
        names = {n.strip().lower(): n.strip() for n in _provider_names(doc)}
        shown = ", ".join(repr(names.get(a, a)) for a in foreign)
        raise ForbiddenError(
            f"{key.label()} may not name {shown} among the providers of collection {cid!r}: "
            "a provider's key credits only its own agency (an admin key may credit any)"
        )


def _provider_names(doc: dict[str, Any]) -> list[str]:
    names = [str(a) for a in doc.get("sco:agencies", []) or []]
    names += [str(p["name"]) for p in doc.get("providers", []) or [] if isinstance(p, dict)]
    return names


def _existing(current: Current) -> dict[str, Any]:
    if current.collection is None:
        raise NotFoundError(f"no collection {current.collection_id!r}")
    return current.collection


def _items_of_catalog_only(current: Current) -> None:
    if current.has_cube:
        raise ConflictError(
            f"the items of {current.collection_id!r} are the source granules of its cube: they "
            "change by ingesting files (POST /ingest)"
        )


def _stamped(item: dict[str, Any], version: int) -> dict[str, Any]:
    """An item of a catalog-only collection as the writer stored it in *version*."""
    marks = {"sco:version": version, "sco:catalog_only": True}
    return {**item, "properties": {**item["properties"], **marks}}


def _minimal(request: Request) -> bool:
    """Whether the request prefers no body in the answer (``Prefer: return=minimal``)."""
    for header in request.headers.getlist("prefer"):
        for token in header.replace(";", ",").split(","):
            name, _, value = token.partition("=")
            if name.strip().lower() == "return" and value.strip().strip('"') == "minimal":
                return True
    return False


def _answer(request: Request, doc: dict[str, Any], media_type: str) -> Response:
    """The document written, or 204 when the client prefers a minimal answer."""
    if _minimal(request):
        return Response(status_code=204, headers={"Preference-Applied": "return=minimal"})
    return JSONResponse(doc, media_type=media_type)


def _merge_patch_body(request: Request, body: Any) -> dict[str, Any]:
    """Check that a PATCH body is a JSON merge patch object (415 or 400 otherwise)."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type not in _PATCH_TYPES:
        raise UnsupportedMediaTypeError(
            f"PATCH takes a JSON merge patch ({MERGE_PATCH} or application/json), "
            f"not {media_type or 'a body without Content-Type'}"
        )
    if not isinstance(body, dict):
        raise InputError("body: a merge patch must be a JSON object")
    return body


def build(ctx: HubContext) -> APIRouter:
    """Return the STAC Transactions router (mounted at ``/stac``)."""
    router = APIRouter()
    if not isinstance(ctx.catalog, SQLCatalogBackend):  # the plugin requires "transactions"
        raise TypeError(f"{type(ctx.catalog).__name__} claims transactions it cannot do")
    access = access_for(ctx)
    writer = CatalogWriter(ctx.catalog, access.audit, ctx.settings.resolved_home)
    require_key = key_dependency(ctx)
    Key = Depends(require_key)

    @router.post(
        "/collections",
        summary="Create a catalog-only collection",
        operation_id="stacCreateCollection",
        status_code=201,
        responses={201: {"description": "Created (Location names it)"}, **WRITE_RESPONSES},
    )
    def create_collection(
        request: Request,
        body: dict[str, Any] = Body(..., examples=[_COLLECTION_EXAMPLE]),
        key: ApiKey = Key,
        *,
        ctx: Context,
    ) -> JSONResponse:
        """Create a collection whose data are held elsewhere (409 when the id exists)."""
        base = base_url(request, ctx)
        doc = check_collection(_drop_served_links(body, base))
        cid = doc["id"]
        _reserved(cid)
        if not key.may_write(cid, collection_agencies(doc)):
            raise ForbiddenError(
                f"{key.label()} may not create collection {cid!r}: name the key's provider "
                "among the collection's providers"
            )
        _check_credit(key, cid, doc)
        actor = actor_of(request, key)

        def change(current: Current) -> tuple[dict[str, Any], list[dict[str, Any]]]:
            if current.exists:
                raise ConflictError(
                    f"collection {cid!r} exists; replace it with PUT /stac/collections/{cid}"
                )
            return doc, []

        saved, _v = writer.publish(
            cid, change, lambda v: [AuditEntry("collection.create", actor, cid, version=v)]
        )
        here = L.collection_href(base, cid)
        return JSONResponse(
            L.collection_out(saved, base), status_code=201, headers={"Location": here}
        )

    @router.put(
        "/collections/{collection_id}",
        summary="Replace a collection",
        operation_id="stacReplaceCollection",
        responses={204: _UPDATE_RESPONSES[204], **WRITE_RESPONSES},
    )
    def replace_collection(
        request: Request,
        collection_id: str,
        body: dict[str, Any] = Body(..., examples=[_COLLECTION_EXAMPLE]),
        key: ApiKey = Key,
        *,
        ctx: Context,
    ) -> Response:
        """Replace a collection's document (a cube collection keeps its cube's fields)."""
        base = base_url(request, ctx)
        sent = _drop_served_links({**body}, base)
        if sent.setdefault("id", collection_id) != collection_id:
            raise InputError(f"body.id: {sent['id']!r} is not {collection_id!r} (of the path)")
        actor = actor_of(request, key)

        def change(current: Current) -> tuple[dict[str, Any], list[dict[str, Any]]]:
            existing = _existing(current)
            _require(key, current, "replace")
            if current.has_cube:
                merged = merge_cube_collection(existing, sent)
                _check_credit(key, collection_id, merged, existing)
                return merged, current.items
            doc = check_collection(sent)
            if not key.may_write(collection_id, collection_agencies(doc)):
                raise ForbiddenError(
                    f"{key.label()} may not give collection {collection_id!r} away: keep the "
                    "key's provider among its providers"
                )
            _check_credit(key, collection_id, doc, existing)
            return doc, current.items

        saved, _v = writer.publish(
            collection_id,
            change,
            lambda v: [AuditEntry("collection.replace", actor, collection_id, version=v)],
        )
        return _answer(request, L.collection_out(saved, base), L.JSON)

    @router.patch(
        "/collections/{collection_id}",
        summary="Update a collection (JSON merge patch)",
        operation_id="stacUpdateCollection",
        responses=_UPDATE_RESPONSES,
    )
    def update_collection(
        request: Request,
        collection_id: str,
        body: Any = Body(
            ...,
            media_type=MERGE_PATCH,
            examples=[{"title": "Glacier outlines (2000-2010)", "keywords": None}],
        ),
        key: ApiKey = Key,
        *,
        ctx: Context,
    ) -> Response:
        """Change members of a collection's document (a cube collection keeps its cube's)."""
        base = base_url(request, ctx)
        patch = _drop_served_links(_merge_patch_body(request, body), base)
        actor = actor_of(request, key)

        def change(current: Current) -> tuple[dict[str, Any], list[dict[str, Any]]]:
            existing = _existing(current)
            _require(key, current, "update")
            sent = merge_patch(existing, patch)
            if sent.get("id") != collection_id:
                raise InputError(f"body.id: the id of {collection_id!r} cannot change")
            if current.has_cube:
                return merge_cube_collection(existing, sent), current.items
            doc = check_collection(sent)
            if not key.may_write(collection_id, collection_agencies(doc)):
                raise ForbiddenError(
                    f"{key.label()} may not give collection {collection_id!r} away: keep the "
                    "key's provider among its providers"
                )
            return doc, current.items

        saved, _v = writer.publish(
            collection_id,
            change,
            lambda v: [AuditEntry("collection.update", actor, collection_id, version=v)],
        )
        return _answer(request, L.collection_out(saved, base), L.JSON)

    @router.delete(
        "/collections/{collection_id}",
        summary="Delete a catalog-only collection",
        operation_id="stacDeleteCollection",
        status_code=204,
        response_class=Response,
        responses={204: {"description": "Deleted"}, **WRITE_RESPONSES},
    )
    def delete_collection(request: Request, collection_id: str, key: ApiKey = Key) -> Response:
        """Delete a catalog-only collection with its items (409 for a cube collection)."""
        actor = actor_of(request, key)

        def check(current: Current) -> None:
            _existing(current)
            _require(key, current, "delete")

        writer.delete_collection(
            collection_id, check, AuditEntry("collection.delete", actor, collection_id)
        )
        return Response(status_code=204)

    @router.post(
        "/collections/{collection_id}/items",
        summary="Add items to a catalog-only collection",
        operation_id="stacCreateItem",
        status_code=201,
        responses={
            201: {"description": "Created", "content": {L.GEOJSON: {}}},
            **WRITE_RESPONSES,
        },
    )
    def create_items(
        request: Request,
        collection_id: str,
        body: dict[str, Any] = Body(
            ...,
            description="A STAC Item, or a FeatureCollection of items",
            examples=[_ITEM_EXAMPLE],
        ),
        key: ApiKey = Key,
        *,
        ctx: Context,
    ) -> JSONResponse:
        """Add an item (or a FeatureCollection of items) as the collection's next version."""
        base = base_url(request, ctx)
        if body.get("type") == "FeatureCollection":
            features = body.get("features")
            if not isinstance(features, list) or not features:
                raise InputError("body.features: must be a non-empty list of items")
            sent = [(f, f"body.features[{i}]") for i, f in enumerate(features)]
        else:
            sent = [(body, "body")]
        items = [
            check_item(_drop_served_links(f, base) if isinstance(f, dict) else f, collection_id, w)
            for f, w in sent
        ]
        ids = [i["id"] for i in items]
        if len(set(ids)) != len(ids):
            raise InputError(f"body.features: item ids repeat ({ids[0]!r}, ...)")
        actor = actor_of(request, key)

        def change(current: Current) -> tuple[dict[str, Any], list[dict[str, Any]]]:
            existing = _existing(current)
            _require(key, current, "add items to")
            _items_of_catalog_only(current)
            known = {i["id"] for i in current.items}
            for item_id in ids:
                if item_id in known:
                    raise ConflictError(
                        f"item {item_id!r} exists in {collection_id!r}; replace it with PUT"
                    )
            return existing, current.items + items

        _saved, version = writer.publish(
            collection_id,
            change,
            lambda v: [
                AuditEntry("item.create", actor, collection_id, item_id=i, version=v) for i in ids
            ],
        )
        served = [L.item_out(_stamped(i, version), base) for i in items]
        if body.get("type") == "FeatureCollection":
            return JSONResponse(
                {"type": "FeatureCollection", "features": served, "numberReturned": len(served)},
                status_code=201,
                media_type=L.GEOJSON,
            )
        return JSONResponse(
            served[0],
            status_code=201,
            media_type=L.GEOJSON,
            headers={"Location": L.item_href(base, collection_id, ids[0])},
        )

    @router.put(
        "/collections/{collection_id}/items/{item_id}",
        summary="Replace an item of a catalog-only collection",
        operation_id="stacReplaceItem",
        responses={
            200: {"content": {L.GEOJSON: {}}},
            204: _UPDATE_RESPONSES[204],
            **WRITE_RESPONSES,
        },
    )
    def replace_item(
        request: Request,
        collection_id: str,
        item_id: str,
        body: dict[str, Any] = Body(..., examples=[_ITEM_EXAMPLE]),
        key: ApiKey = Key,
        *,
        ctx: Context,
    ) -> Response:
        """Replace one item (its id must match the path)."""
        base = base_url(request, ctx)
        sent = _drop_served_links({**body}, base)
        if sent.setdefault("id", item_id) != item_id:
            raise InputError(f"body.id: {sent['id']!r} is not {item_id!r} (of the path)")
        item = check_item(sent, collection_id)
        actor = actor_of(request, key)

        def change(current: Current) -> tuple[dict[str, Any], list[dict[str, Any]]]:
            existing = _existing(current)
            _require(key, current, "replace items of")
            _items_of_catalog_only(current)
            if current.item(item_id) is None:
                raise NotFoundError(f"no item {item_id!r} in collection {collection_id!r}")
            return existing, [item if i["id"] == item_id else i for i in current.items]

        _saved, version = writer.publish(
            collection_id,
            change,
            lambda v: [AuditEntry("item.replace", actor, collection_id, item_id, v)],
        )
        return _answer(request, L.item_out(_stamped(item, version), base), L.GEOJSON)

    @router.patch(
        "/collections/{collection_id}/items/{item_id}",
        summary="Update an item of a catalog-only collection (JSON merge patch)",
        operation_id="stacUpdateItem",
        responses={200: {"content": {L.GEOJSON: {}}}, **_UPDATE_RESPONSES},
    )
    def update_item(
        request: Request,
        collection_id: str,
        item_id: str,
        body: Any = Body(
            ...,
            media_type=MERGE_PATCH,
            examples=[{"properties": {"platform": "sentinel-2b", "title": None}}],
        ),
        key: ApiKey = Key,
        *,
        ctx: Context,
    ) -> Response:
        """Change members of one item (its id and collection stay)."""
        base = base_url(request, ctx)
        patch = _drop_served_links(_merge_patch_body(request, body), base)
        actor = actor_of(request, key)
        patched: dict[str, Any] = {}

        def change(current: Current) -> tuple[dict[str, Any], list[dict[str, Any]]]:
            existing = _existing(current)
            _require(key, current, "update items of")
            _items_of_catalog_only(current)
            stored = current.item(item_id)
            if stored is None:
                raise NotFoundError(f"no item {item_id!r} in collection {collection_id!r}")
            sent = merge_patch(stored, patch)
            if sent.get("id") != item_id:
                raise InputError(f"body.id: the id of {item_id!r} cannot change")
            patched.clear()  # a retried write starts again from the latest version
            patched.update(check_item(sent, collection_id))
            return existing, [patched if i["id"] == item_id else i for i in current.items]

        _saved, version = writer.publish(
            collection_id,
            change,
            lambda v: [AuditEntry("item.update", actor, collection_id, item_id, v)],
        )
        return _answer(request, L.item_out(_stamped(patched, version), base), L.GEOJSON)

    @router.delete(
        "/collections/{collection_id}/items/{item_id}",
        summary="Delete an item of a catalog-only collection",
        operation_id="stacDeleteItem",
        status_code=204,
        response_class=Response,
        responses={204: {"description": "Deleted"}, **WRITE_RESPONSES},
    )
    def delete_item(
        request: Request, collection_id: str, item_id: str, key: ApiKey = Key
    ) -> Response:
        """Delete one item (the collection's next version no longer has it)."""
        actor = actor_of(request, key)

        def change(current: Current) -> tuple[dict[str, Any], list[dict[str, Any]]]:
            existing = _existing(current)
            _require(key, current, "delete items of")
            _items_of_catalog_only(current)
            if current.item(item_id) is None:
                raise NotFoundError(f"no item {item_id!r} in collection {collection_id!r}")
            return existing, [i for i in current.items if i["id"] != item_id]

        writer.publish(
            collection_id,
            change,
            lambda v: [AuditEntry("item.delete", actor, collection_id, item_id, v)],
        )
        return Response(status_code=204)

    return router


plugin = RouterPlugin(
    name="stac-transactions",
    prefix="/stac",
    build=build,
    conformance=CONFORMANCE,
    description="STAC Transactions: create, replace, update and delete collections and items "
    "(API key)",
    order=11,
    requires=("transactions",),
)
