"""The catalog backend interface: STAC records, collection versions and search.

Records are plain STAC JSON dicts (Collections and Items). The backend indexes the fields
it needs (id, bbox, datetime range, ECV, agency, free text) and keeps every published
version of a collection; search sees the latest version of each collection only.
Publishing a version is one transaction: either the version, its items and the collection's
new "latest" pointer are all visible, or none is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from spaceclimate.catalog.filters import Expr, SortKey
from spaceclimate.records import SourceRecord, VersionRecord

__all__ = [
    "CatalogBackend",
    "SearchQuery",
    "SearchResult",
    "SourceRecord",
    "VersionRecord",
]


@dataclass(frozen=True)
class SearchQuery:
    """Item search parameters (all optional; combined with AND)."""

    bbox: tuple[float, float, float, float] | None = None  # minx, miny, maxx, maxy (lon/lat)
    start: datetime | None = None  # items whose time range ends at or after start
    end: datetime | None = None  # items whose time range starts at or before end
    collections: tuple[str, ...] | None = None
    ids: tuple[str, ...] | None = None
    ecv: str | None = None  # matches the collection's ECV id (case-insensitive)
    agency: str | None = None  # matches any provider name of the collection (case-insensitive)
    q: str | None = None  # free text over title, description, keywords (all words must match;
    # comma-separated groups of words are alternatives: "sea ice,snow")
    limit: int = 100
    offset: int = 0
    filter: Expr | None = None  # item search only: a filter expression (catalog.filters)
    sortby: tuple[SortKey, ...] = ()  # item search only: sort keys before the default order
    count_limit: int | None = None  # item search only: count matches up to this many (None: all)


@dataclass(frozen=True)
class SearchResult:
    """A page of search results and the total number matched.

    When the query's ``count_limit`` stopped the count, ``matched_exact`` is False and
    ``matched`` is a lower bound, always greater than the offset of the page's end when more
    items follow it.
    """

    features: list[dict[str, Any]]
    matched: int
    matched_exact: bool = True
    unknown_collections: tuple[str, ...] = ()  # collections the query named that do not exist


@runtime_checkable
class CatalogBackend(Protocol):
    """What every catalog backend provides (registered under ``spaceclimate.catalog_backends``)."""

    #: What the backend can do beyond search and publishing: ``"transactions"`` (STAC
    #: transactions with versions and an audit log in the same database).
    capabilities: frozenset[str]

    def __init__(self, url: str) -> None: ...

    def init(self) -> None:
        """Create tables and indexes if missing (idempotent)."""
        ...

    def publish(
        self, collection: dict[str, Any], items: list[dict[str, Any]], version: VersionRecord
    ) -> None:
        """Make *version* of *collection* with its *items* visible in one transaction.

        ``collection["id"]`` equals ``version.collection_id``; ``version.version`` must be
        one more than the latest published version (else ``ConflictError``).
        """
        ...

    def latest_version(self, collection_id: str) -> VersionRecord | None:
        """Return the newest version of a collection, or None if never published."""
        ...

    def versions(self, collection_id: str) -> list[VersionRecord]:
        """Return every version of a collection, oldest first."""
        ...

    def referenced_cubes(self) -> set[str]:
        """Return the cube_href of every version of every collection."""
        ...

    def get_collection(self, collection_id: str) -> dict[str, Any]:
        """Return the STAC Collection (latest version); NotFoundError if unknown."""
        ...

    def list_collections(self) -> list[dict[str, Any]]:
        """Return every collection (latest version), sorted by id."""
        ...

    def collection_ids(self) -> list[str]:
        """Return the ids of every published collection, sorted."""
        ...

    def get_item(self, collection_id: str, item_id: str) -> dict[str, Any]:
        """Return one item of the latest version; NotFoundError if unknown."""
        ...

    def list_items(self, collection_id: str, limit: int, offset: int) -> SearchResult:
        """Return a page of the items of a collection's latest version."""
        ...

    def get_collection_version(self, collection_id: str, version: int) -> dict[str, Any]:
        """Return the collection document as of *version*; NotFoundError if unknown."""
        ...

    def set_owner(self, collection_id: str, owner: str | None) -> dict[str, Any]:
        """Make a collection private to *owner* (``key:<id>``) or public (None)."""
        ...

    def search(self, query: SearchQuery) -> SearchResult:
        """Search items of the latest version of every collection.

        Collections the query names that do not exist match nothing and are listed in the
        result's ``unknown_collections``.
        """
        ...

    def search_collections(self, query: SearchQuery) -> SearchResult:
        """Search collections by bbox, time, ECV, agency and free text (ids = collection ids)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
