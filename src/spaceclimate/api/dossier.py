"""``GET /dossier``: a place's dossier, as JSON, a printable HTML page or a PDF.

For a point (``lon``, ``lat``) the answer lists every pooled collection with data at the
cell nearest it: its record there, climatology, latest anomaly and trend, with units,
citation and licence (:mod:`spaceclimate.services.dossier`), and every other collection
considered with why it has nothing there. The routes are mounted by the root router
(:mod:`spaceclimate.api.core`).
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from spaceclimate.api.urls import base_url
from spaceclimate.clock import now_iso
from spaceclimate.errors import InputError
from spaceclimate.render.dossier import to_html, to_pdf
from spaceclimate.services.context import HubContext
from spaceclimate.services.deps import Context
from spaceclimate.services.dossier import build_dossier

FORMATS = {"json": "application/json", "html": "text/html", "pdf": "application/pdf"}


def parse_coordinate(text: str | None, name: str, limit: float) -> float:
    """Return a longitude or latitude in ``[-limit, limit]`` (InputError naming *name*)."""
    what = "longitude" if name == "lon" else "latitude"
    if text is None or not text.strip():
        raise InputError(f"parameter {name!r} is required: a {what} in degrees")
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"parameter {name!r}: not a number: {text[:40]!r}") from None
    if not math.isfinite(value) or not -limit <= value <= limit:
        raise InputError(f"parameter {name!r}: a {what} must lie in {-limit:g}..{limit:g}")
    return value


def parse_format(f: str | None) -> str:
    """Return ``json``, ``html`` or ``pdf`` (default ``json``)."""
    key = (f or "json").strip().lower()
    if key not in FORMATS:
        raise InputError(f"parameter 'f': unknown format {key[:20]!r}; use json, html or pdf")
    return key


def add_links(dossier: dict[str, Any], base: str, lon: float, lat: float) -> dict[str, Any]:
    """Add the dossier's own links and, to each collection, its STAC and EDR links."""
    here = f"{base}/dossier?lon={lon:g}&lat={lat:g}"
    dossier["links"] = [
        {"rel": "self", "href": here, "type": FORMATS["json"]},
        {"rel": "alternate", "href": f"{here}&f=html", "type": FORMATS["html"]},
        {"rel": "alternate", "href": f"{here}&f=pdf", "type": FORMATS["pdf"]},
    ]
    point = quote(f"POINT({lon:g} {lat:g})")
    for entry in dossier["collections"]:
        cid = quote(str(entry["id"]))
        entry["links"] = [
            {"rel": "collection", "href": f"{base}/stac/collections/{cid}"},
            {
                "rel": "data",
                "href": f"{base}/edr/collections/{cid}/position?coords={point}",
                "title": "The record at this point (EDR position query)",
            },
        ]
    return dossier


def filename(lon: float, lat: float, extension: str) -> str:
    """``dossier_-30_45.html``: a file name for a saved report."""
    return f"dossier_{lon:g}_{lat:g}.{extension}"


def dossier_response(body: dict[str, Any], fmt: str, made: str, name: str) -> Response:
    """Answer a dossier as JSON, an HTML report (inline) or a PDF (attachment) named *name*.

    *made* says where (and for what) it was made; the time it was made is added.
    """
    body["generated"] = now_iso()
    if fmt == "json":
        return JSONResponse(body)
    made = f"{body['generated'][:19]}Z {made}"
    disposition = f'filename="{name}"'
    if fmt == "html":
        return HTMLResponse(
            to_html(body, made), headers={"Content-Disposition": f"inline; {disposition}"}
        )
    return Response(
        to_pdf(body, made),
        media_type=FORMATS["pdf"],
        headers={"Content-Disposition": f"attachment; {disposition}"},
    )


def build(ctx: HubContext) -> APIRouter:
    """Return the dossier router."""
    router = APIRouter()

    @router.get(
        "/dossier",
        summary="A place's dossier",
        operation_id="coreDossier",
        responses={200: {"content": {v: {} for v in FORMATS.values()}}},
    )
    def dossier(
        request: Request,
        lon: str | None = Query(None, description="Longitude in degrees, -180..180"),
        lat: str | None = Query(None, description="Latitude in degrees, -90..90"),
        f: str | None = Query(None, description="json (default), html (a report) or pdf"),
        *,
        ctx: Context,
    ) -> Response:
        """Answer every pooled collection's record at a point, summarised (see the user guide)."""
        x = parse_coordinate(lon, "lon", 180.0)
        y = parse_coordinate(lat, "lat", 90.0)
        fmt = parse_format(f)
        body = add_links(build_dossier(ctx, (x, y)), base_url(request, ctx), x, y)
        made = f"at {base_url(request, ctx)}"
        return dossier_response(body, fmt, made, filename(x, y, fmt))

    return router
