"""Downloads at ``/download``: a selection of a cube as NetCDF, CSV or GeoTIFF.

``GET /download/{collection}?bbox=&datetime=&variables=a,b&format=netcdf|csv|geotiff``
answers a file; ``GET /download/{collection}/estimate`` with the same query answers its
size as served in that format (and decoded) and whether it fits the synchronous limit,
reading only a small sample. Every
collection can be downloaded, gridded or not (gridless series take no bbox).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd
import xarray as xr
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse

from spaceclimate.api.urls import base_url
from spaceclimate.catalog.records import has_cube
from spaceclimate.compute import export
from spaceclimate.compute.served_size import ServedSize, served_bytes
from spaceclimate.compute.subset import (
    apply_mask,
    grid_kind,
    select_bbox,
    select_time,
    select_variables,
    selection_shape,
    vertical_dim,
)
from spaceclimate.errors import InputError
from spaceclimate.params import parse_bbox, parse_interval, parse_list
from spaceclimate.services.context import HubContext, human_bytes
from spaceclimate.services.deps import Context
from spaceclimate.services.routers import RouterPlugin

#: Download formats by the lower-case names ``format`` accepts.
FORMATS = {
    "netcdf": "netcdf",
    "nc": "netcdf",
    "csv": "csv",
    "geotiff": "geotiff",
    "tiff": "geotiff",
    "tif": "geotiff",
}
MEDIA = {
    "netcdf": "application/x-netcdf",
    "csv": "text/csv; charset=utf-8",
    "geotiff": "image/tiff; application=geotiff",
}
EXTENSIONS = {"netcdf": ".nc", "csv": ".csv", "geotiff": ".tif"}

BBOX_HELP = "minlon,minlat,maxlon,maxlat (gridded collections only)"
DATETIME_HELP = "RFC 3339 instant or interval start/end ('..' open)"
VARIABLES_HELP = "Comma-separated variable names (default: all)"
#: Last line of a CSV stream cut at the size limit (the estimate let it start).
TRUNCATED = "# error: {what} passed the limit of {limit} bytes and was cut here; narrow it\n"
FORMAT_HELP = "netcdf (default), csv (tidy rows) or geotiff (one time step, a band a variable)"


@dataclass(frozen=True)
class DownloadPlan:
    """A validated, lazily selected download: the data, its mask, format and collection."""

    collection: dict[str, Any]
    data: xr.Dataset
    mask: xr.DataArray | None
    fmt: str
    query: str


def _format(text: str | None) -> str:
    key = (text or "netcdf").strip().lower()
    if key not in FORMATS:
        raise InputError(f"parameter 'format': unknown format {text!r}; use netcdf, csv or geotiff")
    return FORMATS[key]


def _check_geotiff(ds: xr.Dataset) -> None:
    """Refuse (400) selections a GeoTIFF cannot hold, before sizing them."""
    if grid_kind(ds) == "none":
        raise InputError(
            "parameter 'format': GeoTIFF needs a gridded collection; use netcdf or csv"
        )
    if "time" in ds.dims and ds.sizes["time"] != 1:
        raise InputError(
            f"parameter 'datetime': GeoTIFF holds one time step but the selection has "
            f"{ds.sizes['time']}; give a single date-time"
        )
    zdim = vertical_dim(ds)
    if zdim is not None and ds.sizes[zdim] != 1:
        raise InputError("parameter 'z': GeoTIFF holds one vertical level")


def _limited(size: ServedSize, fmt: str) -> int:
    """Bytes the size limit applies to: those served, and those read into memory to build a
    NetCDF or GeoTIFF (CSV streams in bounded memory)."""
    return size.served if fmt == "csv" else max(size.served, size.decoded)


def _capped(blocks: Iterator[str], limit: int, what: str) -> Iterator[bytes]:
    """Yield CSV blocks as UTF-8 while the total stays within *limit* bytes.

    The estimate is checked before streaming; should the data still pass the limit, the
    stream ends with a line ``# error: ...`` (never more than *limit* bytes in all).
    """
    sent = 0
    for text in blocks:
        block = text.encode("utf-8")
        if sent + len(block) + len(TRUNCATED.format(what=what, limit=limit)) > limit:
            yield TRUNCATED.format(what=what, limit=limit).encode("utf-8")
            return
        sent += len(block)
        yield block


def _time_span(ds: xr.Dataset) -> list[str] | None:
    if "time" not in ds.dims or ds.sizes["time"] == 0:
        return None
    stamps = pd.to_datetime(ds["time"].values[[0, -1]])
    return [s.strftime("%Y-%m-%dT%H:%M:%SZ") for s in stamps]


def build(ctx: HubContext) -> APIRouter:
    """Return the downloads router."""
    router = APIRouter()

    def plan(
        ctx: HubContext,
        request: Request,
        collection_id: str,
        bbox: str | None,
        datetime_: str | None,
        variables: str | None,
        format_: str | None,
    ) -> DownloadPlan:
        fmt = _format(format_)
        collection = ctx.collection(collection_id)
        names = ctx.check_variables(collection_id, parse_list(variables))
        box = parse_bbox(bbox)
        interval = parse_interval(datetime_)
        ds = select_variables(ctx.cube(collection_id), names)
        if interval is not None:
            ds = select_time(ds, *interval)
        mask: xr.DataArray | None = None
        if box is not None:
            if grid_kind(ds) == "none":
                raise InputError(
                    f"parameter 'bbox': collection {collection_id!r} is a series without a "
                    "spatial grid; leave out bbox"
                )
            area = select_bbox(ds, box)
            ds, mask = area.window, area.mask
        if fmt == "geotiff":
            _check_geotiff(ds)
        return DownloadPlan(collection, ds, mask, fmt, request.url.query)

    @router.get("/", summary="Downloadable collections", operation_id="downloadsIndex")
    @router.get("", include_in_schema=False)
    def index(request: Request, *, ctx: Context) -> dict[str, Any]:
        """List every collection with its download and estimate links."""
        base = base_url(request, ctx)
        entries = []
        for doc in ctx.catalog.list_collections():
            if not has_cube(doc):
                continue
            cid = doc["id"]
            entries.append(
                {
                    "id": cid,
                    "title": doc.get("title", cid),
                    "variables": sorted(
                        k
                        for k, v in (doc.get("cube:variables") or {}).items()
                        if v.get("type", "data") == "data"
                    ),
                    "links": [
                        {
                            "rel": "enclosure",
                            "href": f"{base}/download/{cid}",
                            "type": MEDIA["netcdf"],
                        },
                        {
                            "rel": "describedby",
                            "href": f"{base}/download/{cid}/estimate",
                            "type": "application/json",
                        },
                    ],
                }
            )
        return {
            "description": "GET /download/{collection}?bbox=&datetime=&variables=&format="
            "netcdf|csv|geotiff; /estimate with the same query sizes it without reading.",
            "formats": sorted(set(FORMATS.values())),
            "limit_bytes": ctx.max_bytes,
            "collections": entries,
        }

    @router.get(
        "/{collection_id}/estimate",
        summary="Size of a download, without reading it",
        operation_id="downloadsEstimate",
    )
    def estimate(
        request: Request,
        collection_id: str,
        bbox: str | None = Query(None, description=BBOX_HELP),
        datetime_: str | None = Query(None, alias="datetime", description=DATETIME_HELP),
        variables: str | None = Query(None, description=VARIABLES_HELP),
        format_: str | None = Query(None, alias="format", description=FORMAT_HELP),
        *,
        ctx: Context,
    ) -> dict[str, Any]:
        """Answer the served and decoded size of a download and whether it fits the limit."""
        p = plan(ctx, request, collection_id, bbox, datetime_, variables, format_)
        sizes = served_bytes(p.data, p.mask, p.fmt)
        size = sizes.served
        answer = {
            "collection": collection_id,
            "format": p.fmt,
            "variables": [str(v) for v in p.data.data_vars],
            "shape": selection_shape(p.data),
            "dtypes": {str(k): str(v.dtype) for k, v in p.data.data_vars.items()},
            "time": _time_span(p.data),
            "estimate_bytes": size,
            "estimate_human": human_bytes(size),
            "decoded_bytes": sizes.decoded,
            "limit_bytes": ctx.max_bytes,
            "fits": _limited(sizes, p.fmt) <= ctx.max_bytes,
        }
        if sizes.rows is not None:
            answer["rows"] = sizes.rows
        return answer

    @router.get(
        "/{collection_id}",
        summary="Download a selection as NetCDF, CSV or GeoTIFF",
        operation_id="downloadsGet",
        responses={
            200: {"content": {"application/x-netcdf": {}, "text/csv": {}, "image/tiff": {}}}
        },
    )
    def download(
        request: Request,
        collection_id: str,
        bbox: str | None = Query(None, description=BBOX_HELP),
        datetime_: str | None = Query(None, alias="datetime", description=DATETIME_HELP),
        variables: str | None = Query(None, description=VARIABLES_HELP),
        format_: str | None = Query(None, alias="format", description=FORMAT_HELP),
        *,
        ctx: Context,
    ) -> Response:
        """Answer a selection of a collection's cube as a file (413 over the size limit)."""
        p = plan(ctx, request, collection_id, bbox, datetime_, variables, format_)
        what = f"this download of {collection_id!r}"
        sizes = served_bytes(p.data, p.mask, p.fmt)
        ctx.check_size(_limited(sizes, p.fmt), what)
        name = export.filename(collection_id, p.data, EXTENSIONS[p.fmt])
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        if p.fmt == "csv":
            rows = export.iter_csv(p.data, p.mask, ctx.load.defer_to_light)
            body = _capped(rows, ctx.max_bytes, what)
            return StreamingResponse(body, media_type=MEDIA["csv"], headers=headers)
        attrs = export.collection_attrs(
            p.collection, f"download {p.query}".strip(), base_url(request, ctx)
        )
        data = apply_mask(p.data, p.mask)
        if p.fmt == "geotiff":
            content = export.to_geotiff_bytes(data, attrs)
        else:
            content = export.to_netcdf_bytes(data, attrs)
        return Response(content, media_type=MEDIA[p.fmt], headers=headers)

    return router


plugin = RouterPlugin(
    name="downloads",
    prefix="/download",
    build=build,
    conformance=(),
    description="Downloads: NetCDF, CSV or GeoTIFF of any collection, sized before reading",
    order=70,
    heavy=(r"/[^/]+",),  # a download itself (not its /estimate)
)
