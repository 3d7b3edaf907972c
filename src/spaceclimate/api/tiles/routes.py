"""The tiles router: XYZ PNG tiles, TileJSON, legends and the list of colour maps."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from spaceclimate import __version__
from spaceclimate.api.urls import base_url
from spaceclimate.ecv import get_variable
from spaceclimate.errors import InputError, NotFoundError, RecipeError
from spaceclimate.render.cache import TTLCache
from spaceclimate.render.colormaps import (
    check_colormap,
    get_lut,
    list_colormaps,
    parse_rescale,
)
from spaceclimate.render.grids import TileGrid
from spaceclimate.render.layers import is_gridded, iso, pick_level, pick_time
from spaceclimate.render.legend import Display, legend_json, legend_png
from spaceclimate.render.mercator import MERCATOR_MAX_LAT, check_tile, zoom_for_cell
from spaceclimate.render.tiles import TileRenderer, TileRequest
from spaceclimate.services.context import HubContext
from spaceclimate.services.deps import Context
from spaceclimate.store.remote import CubeLocation
from spaceclimate.viewer import current_viewer

#: Seconds a collection document is reused before the catalog is asked again.
COLLECTION_TTL_SECONDS = 5.0
TILE_CACHE_CONTROL = "public, max-age=600"
META_CACHE_CONTROL = "public, max-age=60"
PNG = "image/png"

DATETIME_DOC = (
    "RFC 3339 instant or date (its middle); the nearest time step is drawn (default: latest)"
)
COLORMAP_DOC = "Colour map name (see /tiles/colormaps); default: the variable's own"
RESCALE_DOC = "Value range 'min,max' mapped onto the colour map; default: the variable's"


@dataclass
class Layer:
    """One variable of one collection, ready to draw."""

    collection_id: str
    variable: str
    doc: dict[str, Any]
    href: str
    cube: CubeLocation
    grid: TileGrid

    @property
    def info(self) -> dict[str, Any]:
        """The variable's ``cube:variables`` entry."""
        return dict(self.doc.get("cube:variables", {}).get(self.variable, {}))

    @property
    def display(self) -> Display | None:
        """The units people read the variable in and the factor to them, when not its own."""
        info = self.info
        units, scale = info.get("sco:display_units"), info.get("sco:display_scale")
        if not units or scale is None:
            return None
        return str(units), float(scale)

    @property
    def bbox(self) -> tuple[float, float, float, float] | None:
        """The collection's lon/lat bounding box."""
        try:
            w, s, e, n = self.doc["extent"]["spatial"]["bbox"][0][:4]
        except (KeyError, IndexError, TypeError, ValueError):
            return None
        return float(w), float(s), float(e), float(n)

    def default_style(self) -> tuple[str, tuple[float, float]]:
        """Return the variable's default colour map and display range."""
        style = self.doc.get("sco:colormaps", {}).get(self.variable)
        if style and "colormap" in style and "range" in style:
            low, high = style["range"]
            return str(style["colormap"]), (float(low), float(high))
        try:
            var = get_variable(self.variable)
            return var.colormap, var.display_range
        except RecipeError:
            return "viridis", (0.0, 1.0)


@dataclass(frozen=True)
class Style:
    """Colour map and range of a request (validated)."""

    colormap: str
    vmin: float
    vmax: float
    query: dict[str, str]  # the style and time parameters the client gave, for URL templates


def etag_of(*parts: object) -> str:
    """Return a strong ETag over the parts that determine a response."""
    digest = hashlib.sha1(repr((__version__, *parts)).encode(), usedforsecurity=False)
    return f'"{digest.hexdigest()[:32]}"'


def not_modified(request: Request, etag: str) -> bool:
    """Whether the client's ``If-None-Match`` already holds *etag*."""
    header = request.headers.get("if-none-match", "")
    return any(t.strip().removeprefix("W/") in (etag, "*") for t in header.split(",") if t)


LEVEL_DOC = (
    "Vertical level of a profile product, in the units of its vertical axis (e.g. 10 for "
    "10 hPa): the nearest level is drawn; the first level when not given."
)


def build(ctx: HubContext) -> APIRouter:
    """Return the tiles router."""
    router = APIRouter()
    renderer = TileRenderer()
    documents: TTLCache[str, dict[str, Any]] = TTLCache(COLLECTION_TTL_SECONDS)

    def layer(ctx: HubContext, cid: str, variable: str) -> Layer:
        doc = documents.get_or_load(cid, lambda: ctx.collection(cid))
        if not current_viewer().sees(doc.get("sco:owner")):
            doc = ctx.collection(cid)  # private: 404 unless published since it was cached
            documents.put(cid, doc)
        if not is_gridded(doc):
            raise InputError(
                f"collection {cid!r} is a series without a spatial grid: it has no map tiles"
            )
        known = [
            name for name, v in doc.get("cube:variables", {}).items() if v.get("type") == "data"
        ]
        if variable not in known:
            raise NotFoundError(
                f"collection {cid!r} has no variable {variable!r}; known: {', '.join(known)}",
                known=known,
            )
        href = str(doc["assets"]["zarr"]["href"])
        cube = ctx.store.path(href)
        return Layer(cid, variable, doc, href, cube, renderer.grid(cube, href))

    def style(lay: Layer, colormap: str | None, rescale: str | None, datetime: str | None) -> Style:
        default_map, (low, high) = lay.default_style()
        name = check_colormap(colormap) if colormap else default_map
        given = parse_rescale(rescale)
        vmin, vmax = given if given else (low, high)
        given_query = (("datetime", datetime), ("colormap", colormap), ("rescale", rescale))
        return Style(name, vmin, vmax, {k: v for k, v in given_query if v})

    @router.get("/", summary="Tile layers", operation_id="tilesIndex")
    def index(request: Request, *, ctx: Context) -> dict[str, Any]:
        """List every collection variable that can be drawn, with its TileJSON link."""
        base = base_url(request, ctx)
        layers = []
        for doc in ctx.catalog.list_collections():
            if not is_gridded(doc):
                continue
            for name, var in doc.get("cube:variables", {}).items():
                if var.get("type") == "data":
                    layers.append(
                        {
                            "collection": doc["id"],
                            "variable": name,
                            "tilejson": f"{base}/tiles/{doc['id']}/{name}/tilejson.json",
                        }
                    )
        return {
            "layers": layers,
            "links": [
                {"rel": "self", "href": f"{base}/tiles/"},
                {"rel": "colormaps", "href": f"{base}/tiles/colormaps"},
            ],
        }

    @router.get("/colormaps", summary="Colour map names", operation_id="tilesColormaps")
    def colormaps() -> dict[str, Any]:
        """List the names accepted by the ``colormap`` parameter."""
        names = list(list_colormaps())
        return {"colormaps": names, "count": len(names)}

    @router.get(
        "/{cid}/{variable}/{z}/{x}/{y}.png",
        summary="A map tile (Web Mercator XYZ, 256 x 256 PNG)",
        operation_id="tilesTile",
        response_class=Response,
        responses={200: {"content": {PNG: {}}}, 304: {"description": "Not modified"}},
    )
    def tile(
        request: Request,
        cid: str,
        variable: str,
        z: int,
        x: int,
        y: int,
        datetime: str | None = Query(None, description=DATETIME_DOC),
        colormap: str | None = Query(None, description=COLORMAP_DOC),
        rescale: str | None = Query(None, description=RESCALE_DOC),
        level: float | None = Query(None, description=LEVEL_DOC),
        *,
        ctx: Context,
    ) -> Response:
        """Draw one tile; pixels without data (land, outside the grid) are transparent."""
        check_tile(z, x, y)
        lay = layer(ctx, cid, variable)
        sty = style(lay, colormap, rescale, datetime)
        time_index = pick_time(lay.grid, datetime)
        index = pick_level(lay.grid, level)
        req = TileRequest(
            lay.href, variable, time_index, sty.colormap, sty.vmin, sty.vmax, z, x, y, index
        )
        etag = etag_of(req)
        headers = {"Cache-Control": TILE_CACHE_CONTROL, "ETag": etag}
        if not_modified(request, etag):
            return Response(status_code=304, headers=headers)
        png = renderer.render(lay.cube, req, get_lut(sty.colormap), lay.bbox)
        return Response(png, media_type=PNG, headers=headers)

    @router.get(
        "/{cid}/{variable}/tilejson.json",
        summary="TileJSON 3.0.0 of a layer",
        operation_id="tilesTileJSON",
    )
    def tilejson(
        request: Request,
        cid: str,
        variable: str,
        datetime: str | None = Query(None, description=DATETIME_DOC),
        colormap: str | None = Query(None, description=COLORMAP_DOC),
        rescale: str | None = Query(None, description=RESCALE_DOC),
        *,
        ctx: Context,
    ) -> Response:
        """Describe a layer for map clients: URL template, bounds, zooms, time steps."""
        lay = layer(ctx, cid, variable)
        sty = style(lay, colormap, rescale, datetime)
        time_index = pick_time(lay.grid, datetime)
        base = f"{base_url(request, ctx)}/tiles/{cid}/{variable}"
        query = f"?{urlencode(sty.query)}" if sty.query else ""
        w, s, e, n = lay.bbox or (-180.0, -90.0, 180.0, 90.0)
        s, n = max(s, -MERCATOR_MAX_LAT), min(n, MERCATOR_MAX_LAT)
        centre_lat = (s + n) / 2 if lay.grid.projected else 0.0
        maxzoom = zoom_for_cell(lay.grid.native_cell_m, centre_lat)
        times = [] if lay.grid.times is None else [iso(t) for t in lay.grid.times]
        info = lay.info
        body = {
            "tilejson": "3.0.0",
            "name": f"{cid} {variable}",
            "description": f"{lay.doc.get('title', cid)}: {info.get('description') or variable}",
            "version": str(lay.doc.get("sco:version", 1)),
            "attribution": ", ".join(p.get("name", "") for p in lay.doc.get("providers", [])),
            "scheme": "xyz",
            "tiles": [f"{base}/{{z}}/{{x}}/{{y}}.png{query}"],
            "minzoom": 0,
            "maxzoom": maxzoom,
            "bounds": [w, s, e, n],
            "center": [(w + e) / 2, (s + n) / 2, min(2, maxzoom)],
            "legend": f"{base}/legend.png{query}",
            "sco:legend_json": f"{base}/legend.json{query}",
            "sco:colormap": sty.colormap,
            "sco:range": [sty.vmin, sty.vmax],
            "sco:units": info.get("unit"),
            "sco:display_units": info.get("sco:display_units"),
            "sco:display_scale": info.get("sco:display_scale"),
            "sco:datetime": None if time_index is None else times[time_index],
            "sco:times": times,
        }
        etag = etag_of("tilejson", lay.href, body)
        headers = {"Cache-Control": META_CACHE_CONTROL, "ETag": etag}
        if not_modified(request, etag):
            return Response(status_code=304, headers=headers)
        return JSONResponse(body, headers=headers)

    @router.get(
        "/{cid}/{variable}/legend.png",
        summary="Colour bar of a layer",
        operation_id="tilesLegendPng",
        response_class=Response,
        responses={200: {"content": {PNG: {}}}},
    )
    def legend_image(
        cid: str,
        variable: str,
        colormap: str | None = Query(None, description=COLORMAP_DOC),
        rescale: str | None = Query(None, description=RESCALE_DOC),
        *,
        ctx: Context,
    ) -> Response:
        """A 256-pixel colour bar from the range minimum (left) to maximum, with labels."""
        lay = layer(ctx, cid, variable)
        sty = style(lay, colormap, rescale, None)
        png = legend_png(
            get_lut(sty.colormap), sty.vmin, sty.vmax, lay.info.get("unit"), lay.display
        )
        return Response(png, media_type=PNG, headers={"Cache-Control": META_CACHE_CONTROL})

    @router.get(
        "/{cid}/{variable}/legend.json",
        summary="Colour stops of a layer",
        operation_id="tilesLegendJson",
    )
    def legend_stops(
        cid: str,
        variable: str,
        colormap: str | None = Query(None, description=COLORMAP_DOC),
        rescale: str | None = Query(None, description=RESCALE_DOC),
        *,
        ctx: Context,
    ) -> dict[str, Any]:
        """The colour map, range and units of a layer with evenly spaced colour stops."""
        lay = layer(ctx, cid, variable)
        sty = style(lay, colormap, rescale, None)
        info = lay.info
        body = legend_json(
            get_lut(sty.colormap),
            sty.vmin,
            sty.vmax,
            sty.colormap,
            info.get("unit"),
            info.get("description"),
            lay.display,
        )
        return {"collection": cid, "variable": variable, **body}

    return router
