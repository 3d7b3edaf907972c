"""The router plugin interface: a name, a prefix, conformance classes and a router factory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fastapi import APIRouter

if TYPE_CHECKING:
    from spaceclimate.services.context import HubContext


@dataclass(frozen=True)
class RouterPlugin:
    """One API of the hub (STAC, EDR, tiles, ...), registered under ``spaceclimate.api_routers``.

    Parameters
    ----------
    name
        Short name, also the OpenAPI tag.
    prefix
        URL prefix the router is mounted under (``""`` for the root).
    build
        ``build(ctx) -> APIRouter``: makes the router; *ctx* gives the catalog, store and limits.
    conformance
        Conformance class URIs the router implements (listed at ``/conformance``).
    description
        One line shown on the landing page and in the OpenAPI tags.
    requires
        Capabilities the catalog backend must have (its ``capabilities``), e.g.
        ``"transactions"``; without them the router is not mounted and the application says so
        when it starts (a warning, and ``sco:unavailable`` on the landing page).
    order
        Mounting order (lower first); routes of the root router go last so they never shadow.
    heavy
        Regular expressions of the paths (below *prefix*) of routes that read and encode
        whole selections (downloads, area queries, analyses): admission control caps how
        many run at once, overall and per client (:mod:`spaceclimate.api.admission`).
    """

    name: str
    prefix: str
    build: Callable[[HubContext], APIRouter]
    conformance: tuple[str, ...] = field(default_factory=tuple)
    description: str = ""
    order: int = 100
    requires: tuple[str, ...] = field(default_factory=tuple)
    heavy: tuple[str, ...] = field(default_factory=tuple)
