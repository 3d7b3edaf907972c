"""``create_app(settings)``: the hub's FastAPI application.

The application mounts every router plugin of ``spaceclimate.api_routers`` (STAC, EDR,
tiles, Zarr, downloads, ...), each given the same
:class:`~spaceclimate.services.context.HubContext`. OpenAPI is served at ``/api``,
interactive docs at ``/docs`` (:mod:`spaceclimate.api.openapi`); errors are problem+json.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES

from spaceclimate import __version__
from spaceclimate.api.admission import AdmissionLimits, AdmissionMiddleware, heavy_pattern
from spaceclimate.api.hosts import HostGuardMiddleware, TrustedHosts
from spaceclimate.api.observe import install_observability
from spaceclimate.api.openapi import OPENAPI_VERSION, serve_openapi
from spaceclimate.api.problems import (
    PROBLEM_RESPONSES,
    LimitsMiddleware,
    install_error_handlers,
)
from spaceclimate.api.security import ViewerMiddleware
from spaceclimate.config import Settings, get_settings
from spaceclimate.jobs.runner import JobRunner
from spaceclimate.plugins import list_plugins
from spaceclimate.processes import execute_job, list_operations
from spaceclimate.services.context import HubContext
from spaceclimate.services.routers import RouterPlugin

log = logging.getLogger("spaceclimate.api")

DESCRIPTION = """\
The data hub of a Space Climate Observatory: satellite climate data records from many
agencies, harmonised into analysis-ready cubes and served through open standards
(STAC API, OGC API EDR, XYZ tiles, Zarr over HTTP).

Errors are RFC 9457 problem details (`application/problem+json`). Data requests are sized
before they are read; requests over the limit get 413 with the estimate.
"""


def list_router_plugins() -> list[RouterPlugin]:
    """Return every router plugin, in mounting order."""
    plugins = list(list_plugins("spaceclimate.api_routers").values())
    return sorted((p for p in plugins if isinstance(p, RouterPlugin)), key=lambda p: p.order)


def usable_plugins(
    plugins: list[RouterPlugin], ctx: HubContext
) -> tuple[list[RouterPlugin], dict[str, str]]:
    """Split *plugins* into those the hub can serve and, by name, why the others cannot."""
    capabilities = frozenset(getattr(ctx.catalog, "capabilities", frozenset()))
    usable: list[RouterPlugin] = []
    unavailable: dict[str, str] = {}
    for plugin in plugins:
        missing = sorted(set(plugin.requires) - capabilities)
        if missing:
            unavailable[plugin.name] = (
                f"the catalog backend {type(ctx.catalog).__name__} cannot do "
                f"{', '.join(missing)}: {plugin.description or plugin.name} is not served"
            )
        else:
            usable.append(plugin)
    return usable, unavailable


def create_app(settings: Settings | None = None, context: HubContext | None = None) -> FastAPI:
    """Return the hub's application for *settings* (read from the environment when None).

    *context* gives the services (catalog, store, jobs) instead of opening those *settings*
    describe. A router plugin whose requirements the catalog backend lacks is not mounted,
    and the application says so when it is made: a warning in the log and, on the landing
    page, ``sco:unavailable``.
    """
    settings = settings or (context.settings if context else get_settings())
    ctx = context or HubContext(settings)
    plugins, unavailable = usable_plugins(list_router_plugins(), ctx)
    for name, reason in unavailable.items():
        log.warning("router %s: %s", name, reason)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        list_operations()  # load the operations before the first request needs them
        runner = None
        if settings.job_workers > 0:
            runner = JobRunner(
                ctx.jobs,
                settings,
                ctx.catalog,
                ctx.store,
                execute_job,
                threads=settings.job_workers,
            )
            runner.start()
        yield
        if runner is not None:
            runner.stop()
        ctx.close()

    app = FastAPI(
        title="spaceclimate hub",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/api",
        docs_url="/docs",
        redoc_url=None,
        lifespan=lifespan,
        openapi_tags=[{"name": p.name, "description": p.description} for p in plugins],
    )
    app.openapi_version = OPENAPI_VERSION
    serve_openapi(app)  # before the routers: the portal's routes must not shadow /api
    app.state.ctx = ctx
    app.state.plugins = plugins
    app.state.unavailable = unavailable
    install_error_handlers(app)
    for plugin in plugins:
        app.include_router(
            plugin.build(ctx),
            prefix=plugin.prefix,
            tags=[plugin.name],
            responses=PROBLEM_RESPONSES,
        )
    app.add_middleware(  # Zarr chunks (octet-stream) are compressed already: gzip only costs time
        GZipMiddleware,
        minimum_size=2048,
        compresslevel=1,  # level 9 (the default) costs 25 ms on a 20-year point series' JSON
        exclude_content_types=(*DEFAULT_EXCLUDED_CONTENT_TYPES, "application/octet-stream"),
    )
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=["Authorization", "Content-Type", "Prefer", "X-Request-ID"],
        expose_headers=["Location", "Preference-Applied", "Retry-After", "X-Request-ID"],
    )
    app.add_middleware(ViewerMiddleware, ctx=ctx)  # private collections: seen by their key
    app.add_middleware(
        LimitsMiddleware,
        max_query=settings.max_query_chars,
        max_body=settings.max_body_bytes,
        upload_paths=("/ingest", "/territories/*/data"),
        max_upload=settings.max_upload_bytes,
    )
    app.add_middleware(  # before anything reads Host: links never name an untrusted host
        HostGuardMiddleware,
        trusted=TrustedHosts.from_settings(settings.trusted_hosts, settings.public_url),
        public_url=settings.public_url,
    )
    app.add_middleware(  # inside the metrics: requests shed are counted and logged too
        AdmissionMiddleware,
        limits=AdmissionLimits(
            max_active=settings.max_active_requests,
            max_queued=settings.max_queued_requests,
            queue_timeout=settings.queue_timeout,
            max_heavy=settings.max_heavy_requests,
            max_heavy_per_client=settings.max_heavy_per_client,
        ),
        heavy=heavy_pattern((p.prefix, pattern) for p in plugins for pattern in p.heavy),
        load=ctx.load,
    )
    install_observability(app, ctx)  # outermost: request ids, rate limits, metrics, logs
    return app


def app_factory() -> FastAPI:
    """Entry point for ``uvicorn --factory`` (settings from the environment)."""
    return create_app(get_settings())
