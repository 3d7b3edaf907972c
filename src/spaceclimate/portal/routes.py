"""The portal router: the page at ``/`` (for browsers), its static files, previews and diffs."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import Scope

from spaceclimate.errors import NotFoundError
from spaceclimate.portal.diff import DiffRenderer
from spaceclimate.portal.native import NativeRenderer
from spaceclimate.portal.thumbnails import ThumbnailMaker
from spaceclimate.portal.vendor import missing_assets
from spaceclimate.services.context import HubContext
from spaceclimate.services.deps import Context

STATIC = Path(__file__).resolve().parent / "static"
INDEX = STATIC / "index.html"
PNG = "image/png"

#: Media types of the files the portal serves; anything else is not served.
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
    ".md": "text/plain; charset=utf-8",
    "": "text/plain; charset=utf-8",  # LICENSE files
}

#: The page may load scripts, styles, images and data from the hub's own origin only.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-cache",
}
THUMBNAIL_CACHE_CONTROL = "public, max-age=3600"
DIFF_CACHE_CONTROL = "public, max-age=600"


def accept_quality(accept: str, media: str) -> float:
    """Return the quality an ``Accept`` header gives *media* by an explicit range (0 if none)."""
    best = 0.0
    for part in accept.split(","):
        fields = [f.strip() for f in part.split(";")]
        if fields[0].lower() != media:
            continue
        quality = 1.0
        for param in fields[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        best = max(best, quality)
    return best


def prefers_html(accept: str | None) -> bool:
    """Whether a client asks for HTML explicitly and likes it at least as much as JSON."""
    if not accept:
        return False
    html = accept_quality(accept, "text/html")
    return html > 0 and html >= accept_quality(accept, "application/json")


class BrowserRoute(APIRoute):
    """A route that matches only requests preferring HTML; others fall through to later routes.

    The portal's ``GET /`` uses it so that the JSON landing page (mounted after the portal)
    keeps answering API clients at the same URL.
    """

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """Match like a plain route, but never when the request does not prefer HTML."""
        match, child = super().matches(scope)
        if match is Match.NONE:
            return match, child
        headers = dict(scope.get("headers") or [])
        accept = headers.get(b"accept", b"").decode("latin-1")
        if not prefers_html(accept):
            return Match.NONE, {}
        return match, child


def base_path(ctx: HubContext) -> str:
    """Return the URL path the hub is served under (``""`` at a host's root)."""
    if not ctx.settings.public_url:
        return ""
    return urlsplit(ctx.settings.public_url).path.rstrip("/")


def page(ctx: HubContext) -> HTMLResponse:
    """Return the portal page, or a short page saying how to install missing assets."""
    missing = missing_assets()
    if missing:
        text = (
            "<!doctype html><html lang='en'><meta charset='utf-8'><title>spaceclimate hub</title>"
            "<h1>Portal assets not installed</h1><p>Run <code>make portal-assets</code> "
            "(npm ci and copy into the package's static/vendor folder), then reload. "
            "The APIs work without them: <a href='docs'>API documentation</a>.</p></html>"
        )
        return HTMLResponse(text, status_code=503, headers=PAGE_HEADERS)
    html = INDEX.read_text(encoding="utf-8").replace("{{base}}", base_path(ctx))
    return HTMLResponse(html, headers=PAGE_HEADERS)


def static_file(path: str) -> FileResponse:
    """Return one file under ``static/`` (404 for anything outside it or of another type)."""
    target = (STATIC / path).resolve()
    media = MEDIA_TYPES.get(target.suffix.lower())
    if media is None or not target.is_relative_to(STATIC) or not target.is_file():
        raise NotFoundError(f"no portal file {path[:100]!r}")
    cache = "public, max-age=86400" if target.is_relative_to(STATIC / "vendor") else "no-cache"
    headers = {"Cache-Control": cache, "X-Content-Type-Options": "nosniff"}
    return FileResponse(target, media_type=media, headers=headers)


def build(ctx: HubContext) -> APIRouter:
    """Return the portal router."""
    router = APIRouter()
    thumbnails = ThumbnailMaker(ctx)
    diffs = DiffRenderer(ctx)
    natives = NativeRenderer(ctx)

    router.add_api_route(
        "/",
        lambda: page(ctx),
        methods=["GET"],
        include_in_schema=False,
        route_class_override=BrowserRoute,
        response_class=HTMLResponse,
    )

    @router.get("/portal", include_in_schema=False)
    def portal_redirect(request: Request, *, ctx: Context) -> RedirectResponse:
        """Send ``/portal`` to ``/portal/``."""
        return RedirectResponse(f"{base_path(ctx)}/portal/", status_code=307)

    @router.get(
        "/portal/",
        summary="The web portal (HTML)",
        operation_id="portalPage",
        response_class=HTMLResponse,
    )
    def portal_page(*, ctx: Context) -> HTMLResponse:
        """The portal's single page: catalog, map viewer, charts, comparison, downloads."""
        return page(ctx)

    @router.get("/portal/static/{path:path}", include_in_schema=False)
    def portal_static(path: str) -> FileResponse:
        """One of the portal's static files."""
        return static_file(path)

    @router.get(
        "/portal/thumbnails/{cid}.png",
        summary="A small preview image of a collection",
        operation_id="portalThumbnail",
        response_class=Response,
        responses={200: {"content": {PNG: {}}}},
    )
    def thumbnail(cid: str) -> Response:
        """A map of the first variable at the latest time, or a line plot for a series."""
        png = thumbnails.png(cid)
        return Response(png, media_type=PNG, headers={"Cache-Control": THUMBNAIL_CACHE_CONTROL})

    @router.get(
        "/portal/diff/{z}/{x}/{y}.png",
        summary="A difference tile A - B of two gridded layers (Web Mercator XYZ)",
        operation_id="portalDiffTile",
        response_class=Response,
        responses={200: {"content": {PNG: {}}}},
    )
    def diff_tile(
        z: int,
        x: int,
        y: int,
        a: str = Query(..., description="Layer A as collection:variable"),
        b: str = Query(..., description="Layer B as collection:variable"),
        datetime_a: str | None = Query(None, description="Time of A (nearest step; latest)"),
        datetime_b: str | None = Query(None, description="Time of B (nearest step; latest)"),
        rescale: str | None = Query(None, description="Difference range 'min,max'"),
        colormap: str = Query("RdBu_r", description="Colour map name (see /tiles/colormaps)"),
    ) -> Response:
        """Draw A - B on A's tile pixels, B sampled at the nearest cell of each pixel."""
        png = diffs.render(z, x, y, a, b, datetime_a, datetime_b, rescale, colormap)
        return Response(png, media_type=PNG, headers={"Cache-Control": DIFF_CACHE_CONTROL})

    @router.get(
        "/portal/native/",
        summary="Collections mapped in their own polar stereographic projection",
        operation_id="portalNativeIndex",
    )
    def native_index() -> dict[str, Any]:
        """The collections whose grids are polar stereographic, with their variables."""
        return {"layers": natives.index()}

    @router.get(
        "/portal/native/{cid}/{variable}.json",
        summary="Projection, bounds and times of a polar stereographic layer",
        operation_id="portalNativeLayer",
    )
    def native_layer(cid: str, variable: str) -> dict[str, Any]:
        """What a map in the grid's own polar stereographic projection needs."""
        return natives.describe(cid, variable)

    @router.get(
        "/portal/native/{cid}/{variable}.png",
        summary="A polar stereographic layer as one image of its native grid",
        operation_id="portalNativeImage",
        response_class=Response,
        responses={200: {"content": {PNG: {}}}},
    )
    def native_image(
        cid: str,
        variable: str,
        datetime: str | None = Query(None, description="Time step (nearest; default latest)"),
        colormap: str | None = Query(None, description="Colour map name"),
        rescale: str | None = Query(None, description="Value range 'min,max'"),
    ) -> Response:
        """The grid at one time step, coloured, north at the top."""
        png = natives.png(cid, variable, datetime, colormap, rescale)
        return Response(png, media_type=PNG, headers={"Cache-Control": DIFF_CACHE_CONTROL})

    return router
