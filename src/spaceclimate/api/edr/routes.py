"""The EDR routes: landing page, conformance, collections and position/area/cube queries.

A data query runs in four steps: validate every parameter (400/404 before any data is
touched), select lazily from the cube (:mod:`spaceclimate.compute.subset`), size the
selection (413 over the limit), then load and encode it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import xarray as xr
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse

from spaceclimate.api.edr import covjson
from spaceclimate.api.edr.documents import (
    COVJSON,
    edr_collection,
    is_gridded,
    require_gridded,
)
from spaceclimate.api.edr.params import (
    check_crs,
    output_format,
    parse_point,
    parse_polygon,
    parse_z,
)
from spaceclimate.api.openapi import OPENAPI_MEDIA_TYPE
from spaceclimate.api.urls import base_url
from spaceclimate.compute import export
from spaceclimate.compute.subset import (
    Area,
    apply_mask,
    estimate_bytes,
    nearest_cell,
    select_bbox,
    select_polygon,
    select_time,
    select_variables,
    select_z,
    vertical_dim,
)
from spaceclimate.errors import InputError
from spaceclimate.params import parse_bbox, parse_interval, parse_list
from spaceclimate.services.context import HubContext
from spaceclimate.services.deps import Context
from spaceclimate.store.pointread import load_position

QueryKind = Literal["position", "area", "cube"]

CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-edr-1/1.1/conf/core",
    "http://www.opengis.net/spec/ogcapi-edr-1/1.1/conf/collections",
    "http://www.opengis.net/spec/ogcapi-edr-1/1.1/conf/json",
    "http://www.opengis.net/spec/ogcapi-edr-1/1.1/conf/covjson",
    "http://www.opengis.net/spec/ogcapi-edr-1/1.1/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-edr-1/1.1/conf/queries",
)
OGC_COMMON = (
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-common-2/1.0/conf/collections",
)
MEDIA = {
    "coveragejson": COVJSON,
    "csv": "text/csv; charset=utf-8",
    "netcdf": "application/x-netcdf",
}
EXTENSIONS = {"csv": ".csv", "netcdf": ".nc"}

COORDS_HELP = "WKT in lon/lat (CRS84)"
DATETIME_HELP = "RFC 3339 instant or interval start/end ('..' open)"
PARAMETER_HELP = "Comma-separated variable names (default: all)"
Z_HELP = "Vertical level(s): a value, a list a,b, an interval lo/hi or Rcount/start/step"
F_HELP = "Output format: CoverageJSON (default), CSV or NetCDF; else from Accept"


def _encode(
    kind: QueryKind,
    fmt: str,
    data: xr.Dataset,
    mask: xr.DataArray | None,
    collection: dict[str, Any],
    query: str,
    between: Callable[[], None] | None = None,
) -> Response:
    """Load the sized selection *data* and answer it in *fmt* (*between*: CSV's pauses)."""
    cid = str(collection["id"])
    if fmt == "coveragejson":
        loaded = apply_mask(data, mask).compute()
        if kind == "position":
            body = covjson.point_series(loaded, collection)
        else:
            body = covjson.grid(loaded, collection)
        return StreamingResponse(covjson.iter_json(body), media_type=COVJSON)
    headers = {
        "Content-Disposition": (
            f'attachment; filename="{export.filename(cid, data, EXTENSIONS[fmt])}"'
        )
    }
    if fmt == "csv":
        return StreamingResponse(
            export.iter_csv(data, mask, between), media_type=MEDIA["csv"], headers=headers
        )
    attrs = export.collection_attrs(collection, f"EDR {kind} query {query}")
    body_bytes = export.to_netcdf_bytes(apply_mask(data, mask), attrs)
    return Response(body_bytes, media_type=MEDIA["netcdf"], headers=headers)


def build(ctx: HubContext) -> APIRouter:
    """Return the EDR router."""
    router = APIRouter()

    def gridded_collection(ctx: HubContext, collection_id: str) -> dict[str, Any]:
        collection = ctx.collection(collection_id)
        require_gridded(collection)
        return collection

    def run_query(
        ctx: HubContext,
        kind: QueryKind,
        request: Request,
        collection_id: str,
        coords: str | None,
        bbox: str | None,
        datetime_: str | None,
        parameter_name: str | None,
        z: str | None,
        f: str | None,
        crs: str | None,
    ) -> Response:
        fmt = output_format(f, request.headers.get("accept"))
        check_crs(crs)
        collection = gridded_collection(ctx, collection_id)
        names = ctx.check_variables(collection_id, parse_list(parameter_name))
        interval = parse_interval(datetime_)
        levels, between = parse_z(z)
        cube = ctx.cube(collection_id)
        ds = select_variables(cube, names)
        if interval is not None:
            ds = select_time(ds, *interval)
        ds = select_z(ds, levels, between)
        mask: xr.DataArray | None = None
        if kind == "position":
            if bbox:
                raise InputError("parameter 'bbox': a position query takes coords=POINT(lon lat)")
            lon, lat = parse_point(coords)
            ds = nearest_cell(ds, lon, lat)
            zdim = vertical_dim(ds)
            if zdim is not None and ds.sizes[zdim] > 1:
                raise InputError("parameter 'z': a position query answers one level; give one z")
        else:
            if kind == "area" and coords and bbox:
                raise InputError("parameters 'coords' and 'bbox': give one of them, not both")
            if kind == "area" and coords:
                area: Area = select_polygon(ds, parse_polygon(coords))
            else:
                box = parse_bbox(bbox)
                if box is None and kind == "area":
                    raise InputError(
                        "parameter 'coords' is required: POLYGON((lon lat, ...)), or give bbox"
                    )
                if box is None:
                    raise InputError("parameter 'bbox' is required: minlon,minlat,maxlon,maxlat")
                area = select_bbox(ds, box)
            ds, mask = area.window, area.mask
        ctx.check_size(estimate_bytes(ds), f"this {kind} query on {collection_id!r}")
        if kind == "position":  # read from the series-shaped copy: a few small chunks
            href = str(collection["assets"]["zarr"]["href"])
            ds = load_position(cube, ctx.store.path(href), href, ds)
        return _encode(kind, fmt, ds, mask, collection, request.url.query, ctx.load.defer_to_light)

    @router.get("", summary="EDR landing page", operation_id="edrLanding")
    @router.get("/", include_in_schema=False)
    def landing(request: Request, *, ctx: Context) -> dict[str, Any]:
        """Describe the EDR API and link its conformance and collections."""
        base = base_url(request, ctx)
        return {
            "title": "spaceclimate hub: OGC API - Environmental Data Retrieval",
            "description": "Position, area and cube queries on the hub's gridded climate "
            "data records, answered as CoverageJSON, CSV or NetCDF.",
            "links": [
                {"rel": "self", "href": f"{base}/edr", "type": "application/json"},
                {
                    "rel": "conformance",
                    "href": f"{base}/edr/conformance",
                    "type": "application/json",
                },
                {"rel": "data", "href": f"{base}/edr/collections", "type": "application/json"},
                {
                    "rel": "service-desc",
                    "href": f"{base}/api",
                    "type": OPENAPI_MEDIA_TYPE,
                },
                {"rel": "service-doc", "href": f"{base}/docs", "type": "text/html"},
            ],
        }

    @router.get("/conformance", summary="EDR conformance", operation_id="edrConformance")
    def conformance() -> dict[str, list[str]]:
        """List the conformance classes the EDR API implements."""
        return {"conformsTo": [*OGC_COMMON, *CONFORMANCE]}

    @router.get("/collections", summary="Gridded collections", operation_id="edrCollections")
    def collections(request: Request, *, ctx: Context) -> dict[str, Any]:
        """List the gridded collections with their extents, parameters and data queries."""
        base = base_url(request, ctx)
        docs = [c for c in ctx.catalog.list_collections() if is_gridded(c)]
        return {
            "links": [
                {"rel": "self", "href": f"{base}/edr/collections", "type": "application/json"},
                {"rel": "root", "href": f"{base}/edr", "type": "application/json"},
            ],
            "collections": [edr_collection(base, c) for c in docs],
        }

    @router.get(
        "/collections/{collection_id}", summary="A gridded collection", operation_id="edrCollection"
    )
    def collection(request: Request, collection_id: str, *, ctx: Context) -> dict[str, Any]:
        """Describe one gridded collection (404 unknown, 400 gridless)."""
        return edr_collection(base_url(request, ctx), gridded_collection(ctx, collection_id))

    @router.get(
        "/collections/{collection_id}/position",
        summary="Time series at a point",
        operation_id="edrPosition",
        responses={200: {"content": {COVJSON: {}, "text/csv": {}, "application/x-netcdf": {}}}},
    )
    def position(
        request: Request,
        collection_id: str,
        coords: str | None = Query(None, description="POINT(lon lat), " + COORDS_HELP),
        datetime_: str | None = Query(None, alias="datetime", description=DATETIME_HELP),
        parameter_name: str | None = Query(
            None, alias="parameter-name", description=PARAMETER_HELP
        ),
        z: str | None = Query(None, description=Z_HELP),
        f: str | None = Query(None, description=F_HELP),
        crs: str | None = Query(None, description="Only CRS84"),
        bbox: str | None = Query(None, include_in_schema=False),
        *,
        ctx: Context,
    ) -> Response:
        """Answer the values of the grid cell nearest a point, over time."""
        return run_query(
            ctx,
            "position",
            request,
            collection_id,
            coords,
            bbox,
            datetime_,
            parameter_name,
            z,
            f,
            crs,
        )

    @router.get(
        "/collections/{collection_id}/area",
        summary="Cells inside a polygon",
        operation_id="edrArea",
        responses={200: {"content": {COVJSON: {}, "text/csv": {}, "application/x-netcdf": {}}}},
    )
    def area(
        request: Request,
        collection_id: str,
        coords: str | None = Query(None, description="POLYGON((...)), " + COORDS_HELP),
        bbox: str | None = Query(None, description="minlon,minlat,maxlon,maxlat (instead)"),
        datetime_: str | None = Query(None, alias="datetime", description=DATETIME_HELP),
        parameter_name: str | None = Query(
            None, alias="parameter-name", description=PARAMETER_HELP
        ),
        z: str | None = Query(None, description=Z_HELP),
        f: str | None = Query(None, description=F_HELP),
        crs: str | None = Query(None, description="Only CRS84"),
        *,
        ctx: Context,
    ) -> Response:
        """Answer every grid cell whose centre lies inside a polygon (or a bbox)."""
        return run_query(
            ctx, "area", request, collection_id, coords, bbox, datetime_, parameter_name, z, f, crs
        )

    @router.get(
        "/collections/{collection_id}/cube",
        summary="Cells of a bbox",
        operation_id="edrCube",
        responses={200: {"content": {COVJSON: {}, "text/csv": {}, "application/x-netcdf": {}}}},
    )
    def cube(
        request: Request,
        collection_id: str,
        bbox: str | None = Query(None, description="minlon,minlat,maxlon,maxlat"),
        datetime_: str | None = Query(None, alias="datetime", description=DATETIME_HELP),
        parameter_name: str | None = Query(
            None, alias="parameter-name", description=PARAMETER_HELP
        ),
        z: str | None = Query(None, description=Z_HELP),
        f: str | None = Query(None, description=F_HELP),
        crs: str | None = Query(None, description="Only CRS84"),
        *,
        ctx: Context,
    ) -> Response:
        """Answer every grid cell of a bbox."""
        return run_query(
            ctx, "cube", request, collection_id, None, bbox, datetime_, parameter_name, z, f, crs
        )

    return router
