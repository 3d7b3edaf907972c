"""Territories at ``/territories`` (places, local data, match-ups) and ``/indicators``.

A territory is created with ``POST /territories`` (a GeoJSON Feature, an API key needed) and
belongs to that key unless published (``properties.published``). Its local (station) data is
uploaded with ``POST /territories/{id}/data`` (CSV or CF NetCDF; checked line by line, stored
all or nothing) and compared with pooled records at ``GET /territories/{id}/matchups``.
Indicators defined as data (:mod:`spaceclimate.compute.travelling`) are processes with a
``territory`` input; ``/indicators`` lists them, answers each as a package another hub can
import, and imports one (``POST /indicators``, admin key).
"""

from __future__ import annotations

import io
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from shapely.geometry import shape

from spaceclimate.access import ApiKey
from spaceclimate.api.dossier import FORMATS as DOSSIER_FORMATS
from spaceclimate.api.dossier import dossier_response, parse_format
from spaceclimate.api.jobaccess import KEY_RESPONSES, OPTIONAL_KEY
from spaceclimate.api.security import (
    WRITE_RESPONSES,
    admin_dependency,
    key_dependency,
    optional_key_dependency,
)
from spaceclimate.api.urls import base_url
from spaceclimate.compute.travelling import (
    definitions,
    get_definition,
    hub_indicators,
    package,
    save_package,
)
from spaceclimate.errors import InputError, TooLargeError
from spaceclimate.services.context import HubContext
from spaceclimate.services.deps import Context
from spaceclimate.services.dossier import build_dossier
from spaceclimate.services.routers import RouterPlugin
from spaceclimate.territories import Caller, territories_for
from spaceclimate.territories.matchup import METHODS, MatchUp
from spaceclimate.territories.plots import PLOTS, scatter_png, series_png

GEOJSON = "application/geo+json"
EXAMPLE = {
    "type": "Feature",
    "geometry": {"type": "Point", "coordinates": [-4.49, 48.39]},
    "properties": {"name": "Brest roadstead", "radius_km": 30},
}


def caller_of(key: ApiKey | None) -> Caller:
    """The :class:`Caller` of a request made with *key* (None: anonymous)."""
    if key is None:
        return Caller()
    return Caller(f"key:{key.id}", key.is_admin)


def feature(doc: dict[str, Any], base: str) -> dict[str, Any]:
    """A territory record as a GeoJSON Feature with its links."""
    props = dict(doc["definition"].get("properties") or {})
    props.update(
        name=doc["name"], kind=doc["kind"], published=doc["published"], created=doc["created"]
    )
    href = f"{base}/territories/{doc['id']}"
    return {
        "type": "Feature",
        "id": doc["id"],
        "bbox": doc["bbox"],
        "geometry": doc["geometry"],
        "properties": props,
        "links": [
            {"rel": "self", "href": href, "type": GEOJSON},
            {
                "rel": "data",
                "href": f"{href}/data",
                "type": "application/json",
                "title": "Local datasets",
            },
            {
                "rel": "matchups",
                "href": f"{href}/matchups",
                "type": "application/json",
                "title": "Match-ups with pooled records",
            },
            {
                "rel": "dossier",
                "href": f"{href}/dossier",
                "type": "application/json",
                "title": "Every pooled record over the territory",
            },
        ],
    }


def _csv(m: MatchUp) -> str:
    buffer = io.StringIO()
    table = m.pairs.copy()
    for column in ("time_start", "time_end"):
        table[column] = table[column].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    table.to_csv(buffer, index=False, float_format="%.9g")
    return buffer.getvalue()


def build(ctx: HubContext) -> APIRouter:
    """The territories router."""
    router = APIRouter()
    require_key = key_dependency(ctx)
    optional_key = optional_key_dependency(ctx)
    require_admin = admin_dependency(ctx)

    @router.post(
        "/territories",
        status_code=201,
        summary="Create a territory (a polygon, a point with radius_km, or a named region)",
        responses={**WRITE_RESPONSES, 201: {"content": {GEOJSON: {}}}},
    )
    def create(
        request: Request,
        ctx: Context,
        body: Annotated[dict[str, Any], Body(examples=[EXAMPLE])],
        key: ApiKey = Depends(require_key),
    ) -> Response:
        doc = territories_for(ctx).add(body, caller_of(key))
        base = base_url(request, ctx)
        return JSONResponse(
            feature(doc, base),
            status_code=201,
            media_type=GEOJSON,
            headers={"Location": f"{base}/territories/{doc['id']}"},
        )

    @router.get(
        "/territories",
        summary="Territories: published ones and the caller's own",
        responses={**KEY_RESPONSES, 200: {"content": {GEOJSON: {}}}},
        openapi_extra=OPTIONAL_KEY,
    )
    def list_territories(
        request: Request, ctx: Context, key: ApiKey | None = Depends(optional_key)
    ) -> Response:
        base = base_url(request, ctx)
        docs = territories_for(ctx).store.list_territories(caller_of(key))
        body = {
            "type": "FeatureCollection",
            "features": [feature(d, base) for d in docs],
            "numberReturned": len(docs),
            "links": [{"rel": "self", "href": f"{base}/territories", "type": GEOJSON}],
        }
        return JSONResponse(body, media_type=GEOJSON)

    @router.get(
        "/territories/{territory_id}",
        summary="One territory",
        responses={**KEY_RESPONSES, 200: {"content": {GEOJSON: {}}}},
        openapi_extra=OPTIONAL_KEY,
    )
    def get_territory(
        request: Request,
        ctx: Context,
        territory_id: str,
        key: ApiKey | None = Depends(optional_key),
    ) -> Response:
        doc = territories_for(ctx).get(territory_id, caller_of(key))
        return JSONResponse(feature(doc, base_url(request, ctx)), media_type=GEOJSON)

    @router.delete(
        "/territories/{territory_id}",
        status_code=204,
        summary="Delete a territory and its local data (its owner or an admin)",
        responses=WRITE_RESPONSES,
    )
    def delete_territory(
        ctx: Context,
        territory_id: str,
        key: ApiKey = Depends(require_key),
    ) -> Response:
        territories_for(ctx).store.delete(territory_id, caller_of(key))
        return Response(status_code=204)

    @router.post(
        "/territories/{territory_id}/data",
        status_code=201,
        summary="Upload local (station) data: CSV (lon, lat, time, value, units, variable) or "
        "CF NetCDF time series; checked line by line, stored all or nothing",
        responses=WRITE_RESPONSES,
        openapi_extra={
            "requestBody": {
                "content": {
                    "text/csv": {"schema": {"type": "string"}},
                    "application/x-netcdf": {"schema": {"type": "string", "format": "binary"}},
                },
                "required": True,
            }
        },
    )
    async def upload(
        request: Request,
        ctx: Context,
        territory_id: str,
        name: Annotated[str, Query(max_length=200, description="Name of the data")] = "",
        filename: Annotated[str, Query(max_length=200, description="The file's name")] = "",
        key: ApiKey = Depends(require_key),
    ) -> Response:
        limit = ctx.settings.max_local_upload_bytes
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise TooLargeError(f"local data upload over the limit of {limit} bytes")
            chunks.append(chunk)
        data = b"".join(chunks)
        if not data:
            raise InputError("the request body is empty: send the CSV or NetCDF file as the body")
        docs = territories_for(ctx).upload(
            territory_id,
            data,
            caller_of(key),
            name=name,
            content_type=request.headers.get("content-type", ""),
            filename=filename,
        )
        return JSONResponse({"datasets": docs}, status_code=201)

    @router.get(
        "/territories/{territory_id}/data",
        summary="Local datasets of a territory",
        responses=KEY_RESPONSES,
        openapi_extra=OPTIONAL_KEY,
    )
    def list_data(
        ctx: Context,
        territory_id: str,
        key: ApiKey | None = Depends(optional_key),
    ) -> dict[str, Any]:
        service = territories_for(ctx)
        doc = service.get(territory_id, caller_of(key))
        return {"territory": doc["id"], "datasets": service.store.datasets(doc["id"])}

    @router.get(
        "/territories/{territory_id}/data/{dataset_id}",
        summary="One local dataset (f=csv: its values)",
        responses={**KEY_RESPONSES, 200: {"content": {"application/json": {}, "text/csv": {}}}},
        openapi_extra=OPTIONAL_KEY,
    )
    def get_data(
        ctx: Context,
        territory_id: str,
        dataset_id: str,
        f: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
        key: ApiKey | None = Depends(optional_key),
    ) -> Response:
        service = territories_for(ctx)
        territory = service.get(territory_id, caller_of(key))
        doc = service.store.dataset(territory["id"], dataset_id)
        if f == "json":
            return JSONResponse(doc)
        series = service.store.series(doc)
        lines = ["station,lon,lat,time,value,units,variable"]
        for station, time, value in zip(series.station, series.time, series.value, strict=True):
            lon, lat = series.stations[station]
            lines.append(
                f"{station},{lon:.6g},{lat:.6g},{time}Z,{value:.9g},{series.units},"
                f"{series.variable}"
            )
        return Response("\n".join(lines) + "\n", media_type="text/csv")

    @router.get(
        "/territories/{territory_id}/matchups",
        summary="Match a local series (or an in situ record) against pooled records",
        responses={
            **KEY_RESPONSES,
            200: {"content": {"application/json": {}, "text/csv": {}, "image/png": {}}},
        },
        openapi_extra=OPTIONAL_KEY,
    )
    def matchups(
        ctx: Context,
        territory_id: str,
        local: Annotated[
            str,
            Query(
                max_length=300,
                description=(
                    "A local dataset id of the territory, or collection:<id> of a pooled record"
                ),
            ),
        ],
        local_variable: Annotated[str | None, Query(max_length=200)] = None,
        collection: Annotated[
            str | None,
            Query(
                max_length=200,
                description=(
                    "The pooled record to match; default: every gridded record of the variable"
                ),
            ),
        ] = None,
        variable: Annotated[str | None, Query(max_length=200)] = None,
        method: Annotated[str, Query(description=", ".join(METHODS))] = "nearest",
        radius_km: Annotated[float, Query(gt=0, le=2000)] = 25.0,
        window: Annotated[
            str | None,
            Query(
                max_length=40,
                description=(
                    "Widen each product step by this ISO 8601 duration on each side (P1D, PT6H)"
                ),
            ),
        ] = None,
        f: Annotated[str, Query(pattern="^(json|csv|png)$")] = "json",
        plot: Annotated[str, Query(description=" or ".join(PLOTS))] = "scatter",
        key: ApiKey | None = Depends(optional_key),
    ) -> Response:
        if plot not in PLOTS:
            raise InputError(f"plot: one of {', '.join(PLOTS)}, not {plot!r}")
        results = territories_for(ctx).matchups(
            territory_id,
            caller_of(key),
            local=local,
            local_variable=local_variable,
            collection=collection,
            variable=variable,
            method=method,
            radius_km=radius_km,
            window=window,
        )
        if f != "json" and len(results) != 1:
            raise InputError(
                f"f={f}: name one collection (several match: "
                f"{', '.join(str(r.product.extra['collection']) for r in results)})"
            )
        if f == "csv":
            return Response(_csv(results[0]), media_type="text/csv")
        if f == "png":
            draw = scatter_png if plot == "scatter" else series_png
            return Response(draw(results[0]), media_type="image/png")
        return JSONResponse({"territory": territory_id, "matchups": [r.to_json() for r in results]})

    @router.get(
        "/territories/{territory_id}/dossier",
        summary="The territory's dossier: every pooled record's area mean over it, with "
        "climatology, latest anomaly and trend (f=json, html or pdf)",
        responses={**KEY_RESPONSES, 200: {"content": {v: {} for v in DOSSIER_FORMATS.values()}}},
        openapi_extra=OPTIONAL_KEY,
    )
    def territory_dossier(
        request: Request,
        ctx: Context,
        territory_id: str,
        f: Annotated[str | None, Query(description="json (default), html or pdf")] = None,
        key: ApiKey | None = Depends(optional_key),
    ) -> Response:
        doc = territories_for(ctx).get(territory_id, caller_of(key))
        fmt = parse_format(f)
        base = base_url(request, ctx)
        body = build_dossier(ctx, shape(doc["geometry"]))
        body["territory"] = {"id": doc["id"], "name": doc["name"], "kind": doc["kind"]}
        here = f"{base}/territories/{doc['id']}/dossier"
        body["links"] = [
            {"rel": "self", "href": here, "type": DOSSIER_FORMATS["json"]},
            {"rel": "alternate", "href": f"{here}?f=html", "type": DOSSIER_FORMATS["html"]},
            {"rel": "alternate", "href": f"{here}?f=pdf", "type": DOSSIER_FORMATS["pdf"]},
            {"rel": "territory", "href": f"{base}/territories/{doc['id']}", "type": GEOJSON},
        ]
        made = f"at {base} for {doc['name']}"
        return dossier_response(body, fmt, made, f"dossier_{doc['id']}.{fmt}")

    @router.get("/indicators", summary="Indicators that travel: defined once, run on any territory")
    def list_indicators(request: Request, ctx: Context) -> dict[str, Any]:
        base = base_url(request, ctx)
        return {
            "indicators": [
                {
                    "id": d.id,
                    "version": d.version,
                    "title": d.title,
                    "description": d.description,
                    "units": d.units,
                    "input": d.input.model_dump(),
                    "operation": d.operation,
                    "links": [
                        {"rel": "process", "href": f"{base}/processes/{d.id}"},
                        {"rel": "package", "href": f"{base}/indicators/{d.id}"},
                    ],
                }
                for d in definitions().values()
            ]
        }

    @router.get(
        "/indicators/{indicator_id}",
        summary="An indicator as a self-describing package (to import into another hub)",
    )
    def get_indicator(indicator_id: str) -> dict[str, Any]:
        return package(get_definition(indicator_id))

    @router.post(
        "/indicators",
        status_code=201,
        responses=WRITE_RESPONSES,
        summary="Import an indicator package (admin key)",
    )
    def import_indicator(
        request: Request,
        ctx: Context,
        body: Annotated[dict[str, Any], Body()],
        key: ApiKey = Depends(require_admin),
    ) -> Response:
        definition = save_package(body, hub_indicators(ctx.settings.home))
        base = base_url(request, ctx)
        return JSONResponse(
            {
                "id": definition.id,
                "version": definition.version,
                "process": f"{base}/processes/{definition.id}",
            },
            status_code=201,
            headers={"Location": f"{base}/indicators/{definition.id}"},
        )

    return router


plugin = RouterPlugin(
    name="territories",
    prefix="",
    build=build,
    description="Territories: places, local station data, match-ups with pooled records, "
    "and indicators that travel",
    order=70,
    heavy=(r"/territories/[^/]+/matchups", r"/territories/[^/]+/dossier"),
)
