"""The root of the API: landing page, conformance, liveness, readiness and dossiers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from spaceclimate import __version__
from spaceclimate.api import dossier
from spaceclimate.api.openapi import OPENAPI_MEDIA_TYPE
from spaceclimate.api.urls import base_url
from spaceclimate.catalog.holdings import holdings
from spaceclimate.services.context import HubContext
from spaceclimate.services.deps import Context
from spaceclimate.services.routers import RouterPlugin

OGC_COMMON = (
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/landing-page",
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/json",
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/oas30",
)


def build(ctx: HubContext) -> APIRouter:
    """Return the root router (with a place's dossier, :mod:`spaceclimate.api.dossier`)."""
    router = APIRouter()
    router.include_router(dossier.build(ctx))

    @router.get("/health", summary="Liveness", operation_id="coreHealth")
    def health() -> dict[str, str]:
        """Answer while the process runs."""
        return {"status": "ok", "version": __version__}

    @router.get(
        "/ready",
        summary="Readiness",
        operation_id="coreReady",
        responses={503: {"description": "Catalog or store unreachable"}},
    )
    def ready(*, ctx: Context) -> JSONResponse:
        """Answer 200 when the catalog answers and the store is reachable, else 503."""
        checks: dict[str, str] = {}
        try:
            checks["catalog"] = f"ok ({len(ctx.catalog.list_collections())} collections)"
        except Exception as exc:  # noqa: BLE001 - report, do not crash
            checks["catalog"] = f"unreachable: {type(exc).__name__}"
        problem = ctx.store.check()
        checks["store"] = "ok" if problem is None else problem
        ok = all(v.startswith("ok") for v in checks.values())
        return JSONResponse(
            {"status": "ready" if ok else "not ready", "checks": checks},
            status_code=200 if ok else 503,
        )

    @router.get("/conformance", summary="Conformance classes", operation_id="coreConformance")
    def conformance(request: Request) -> dict[str, list[str]]:
        """List the conformance classes of every API the hub serves."""
        classes = list(OGC_COMMON)
        for plugin in request.app.state.plugins:
            classes.extend(c for c in plugin.conformance if c not in classes)
        return {"conformsTo": classes}

    @router.get("/", summary="Landing page", operation_id="coreLanding")
    def landing(request: Request, *, ctx: Context) -> dict[str, Any]:
        """Describe the hub and link every API it serves."""
        base = base_url(request, ctx)
        links = [
            {"rel": "self", "href": f"{base}/", "type": "application/json"},
            {
                "rel": "service-desc",
                "href": f"{base}/api",
                "type": OPENAPI_MEDIA_TYPE,
            },
            {"rel": "service-doc", "href": f"{base}/docs", "type": "text/html"},
            {"rel": "conformance", "href": f"{base}/conformance", "type": "application/json"},
        ]
        for plugin in request.app.state.plugins:
            if plugin.prefix:
                links.append(
                    {
                        "rel": "service",
                        "href": f"{base}{plugin.prefix}/",
                        "title": plugin.description or plugin.name,
                        "type": "application/json",
                    }
                )
        body: dict[str, Any] = {
            "title": "spaceclimate hub",
            "description": "Satellite climate data records of many agencies, harmonised.",
            "version": __version__,
            "links": links,
        }
        # what the hub pools: satellite records counted apart from their references
        body["sco:holdings"] = holdings(ctx.catalog.list_collections())
        unavailable = getattr(request.app.state, "unavailable", {})
        if unavailable:  # what this hub's backends cannot serve, and why
            body["sco:unavailable"] = dict(unavailable)
        return body

    return router


plugin = RouterPlugin(
    name="core",
    prefix="",
    build=build,
    conformance=(),
    description="Landing page, conformance, health, dossiers of places",
    order=1000,
)
