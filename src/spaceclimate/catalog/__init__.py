"""The catalog: STAC records of every collection version, behind one backend interface."""

from __future__ import annotations

from spaceclimate.catalog.base import (
    CatalogBackend,
    SearchQuery,
    SearchResult,
    SourceRecord,
    VersionRecord,
)
from spaceclimate.errors import InputError
from spaceclimate.plugins import list_plugins

__all__ = [
    "CatalogBackend",
    "SearchQuery",
    "SearchResult",
    "SourceRecord",
    "VersionRecord",
    "open_catalog",
]


def open_catalog(url: str) -> CatalogBackend:
    """Open (and initialise) the catalog at *url*, choosing the backend by URL scheme."""
    scheme = url.split(":", 1)[0].split("+", 1)[0].lower()
    backends = list_plugins("spaceclimate.catalog_backends")
    if scheme not in backends:
        known = ", ".join(sorted(backends)) or "none"
        raise InputError(f"no catalog backend for {scheme!r} URLs; known: {known}")
    backend: CatalogBackend = backends[scheme](url)
    backend.init()
    return backend
