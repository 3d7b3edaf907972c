"""FastAPI dependencies: how a route receives the hub's services.

Every route of the API and the portal asks for what it uses with ``Depends``::

    @router.get("/collections/{cid}")
    def collection(cid: str, catalog: CatalogBackend = Depends(get_catalog)) -> dict: ...

The services come from the application's :class:`~spaceclimate.services.context.HubContext`
(``app.state.ctx``, made by ``create_app``). A test or a deployment replaces any of them
without touching a route::

    app.dependency_overrides[get_catalog] = lambda: my_catalog
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from spaceclimate.catalog import CatalogBackend
from spaceclimate.config import Settings
from spaceclimate.jobs import JobStore
from spaceclimate.services.context import HubContext
from spaceclimate.store import CubeStore


def get_context(request: Request) -> HubContext:
    """The hub context of the application serving *request*."""
    ctx: HubContext = request.app.state.ctx
    return ctx


def get_settings(ctx: Annotated[HubContext, Depends(get_context)]) -> Settings:
    """The hub's settings."""
    return ctx.settings


def get_catalog(ctx: Annotated[HubContext, Depends(get_context)]) -> CatalogBackend:
    """The hub's catalog backend."""
    return ctx.catalog


def get_store(ctx: Annotated[HubContext, Depends(get_context)]) -> CubeStore:
    """The hub's cube store."""
    return ctx.store


def get_jobs(ctx: Annotated[HubContext, Depends(get_context)]) -> JobStore:
    """The hub's job queue."""
    return ctx.jobs


#: Route parameter types: ``def route(ctx: Context, catalog: Catalog) -> ...``.
Context = Annotated[HubContext, Depends(get_context)]
Catalog = Annotated[CatalogBackend, Depends(get_catalog)]
Store = Annotated[CubeStore, Depends(get_store)]
Jobs = Annotated[JobStore, Depends(get_jobs)]
HubSettings = Annotated[Settings, Depends(get_settings)]

__all__: list[Any] = [
    "Catalog",
    "Context",
    "HubSettings",
    "Jobs",
    "Store",
    "get_catalog",
    "get_context",
    "get_jobs",
    "get_settings",
    "get_store",
]
