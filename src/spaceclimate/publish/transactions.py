"""STAC transactions in the catalog: every change is a new immutable version, made atomically.

A transaction (create, replace or delete a collection or an item) reads the collection's
latest version, computes the new documents, and publishes them as version N+1 in one
database transaction together with its audit entry: either the version, its items, the
collection's new "latest" pointer and the audit entry are all visible, or none is.

- A new version keeps the cube of the previous one (same cube href, sources and checksums):
  a transaction never changes data, only records. A catalog-only collection's versions have
  an empty cube href.
- Every item of the previous version is carried into the new one (as ingest does), with
  ``sco:version`` updated, so a version is always complete and old versions stay readable.
- Deleting a catalog-only collection removes its records and every version of them (the
  audit log keeps what happened). Collections with a cube are not deleted over HTTP.
- Writes to a cube collection hold the hub's publishing lock (shared with ingest) for a
  short wait at most, so that an ingest never finds its version taken; catalog-only
  collections, which ingest never touches, need no lock.

Concurrent writers of one collection are serialised by the database (SQLite: the write lock
of ``BEGIN IMMEDIATE``; PostgreSQL: the versions' primary key); the loser retries.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, text
from sqlalchemy.exc import IntegrityError as SAIntegrityError

from spaceclimate.access.audit import AuditEntry, AuditLog
from spaceclimate.catalog.base import VersionRecord
from spaceclimate.catalog.records import has_cube
from spaceclimate.catalog.sql import SQLCatalogBackend
from spaceclimate.db import schema
from spaceclimate.errors import ConflictError, NotFoundError
from spaceclimate.store.lock import hub_lock

#: Attempts at a transaction that loses a race with another writer of the same collection.
ATTEMPTS = 3
#: Seconds a write to a cube collection waits for an ingest holding the hub's lock.
LOCK_WAIT = 10.0


@dataclass
class Current:
    """The latest version of a collection as a transaction sees it (empty when new)."""

    collection_id: str
    collection: dict[str, Any] | None = None
    version: VersionRecord | None = None
    items: list[dict[str, Any]] = field(default_factory=list)

    @property
    def exists(self) -> bool:
        """Whether the collection exists."""
        return self.collection is not None

    @property
    def has_cube(self) -> bool:
        """Whether the collection is a cube collection."""
        return self.collection is not None and has_cube(self.collection)

    def item(self, item_id: str) -> dict[str, Any] | None:
        """Return an item of the latest version, or None."""
        return next((i for i in self.items if i.get("id") == item_id), None)


#: Makes the new collection document and items from the current state (may raise).
Change = Callable[[Current], tuple[dict[str, Any], list[dict[str, Any]]]]


def _fingerprint(collection: dict[str, Any], items: list[dict[str, Any]]) -> str:
    h = hashlib.sha256()
    doc = {k: v for k, v in collection.items() if k != "sco:version"}
    h.update(json.dumps(doc, sort_keys=True, default=str).encode())
    for item in sorted(items, key=lambda i: str(i.get("id"))):
        h.update(json.dumps(item, sort_keys=True, default=str).encode())
    return h.hexdigest()


class CatalogWriter:
    """Applies STAC transactions to the SQL catalog of a hub."""

    def __init__(self, catalog: SQLCatalogBackend, audit: AuditLog, home: Path) -> None:
        self.catalog = catalog
        self.audit = audit
        self.home = home

    def current(self, collection_id: str, with_items: bool = True) -> Current:
        """Return the latest version of a collection (its items when asked)."""
        try:
            doc = self.catalog.get_collection(collection_id)
        except NotFoundError:
            return Current(collection_id)
        items: list[dict[str, Any]] = []
        if with_items:
            items = self.catalog.list_items(collection_id, limit=10_000_000, offset=0).features
        return Current(collection_id, doc, self.catalog.latest_version(collection_id), items)

    @contextlib.contextmanager
    def _guard(self, collection_id: str) -> Iterator[None]:
        """Hold the hub's publishing lock while writing a cube collection."""
        try:
            doc = self.catalog.get_collection(collection_id)
        except NotFoundError:
            doc = {}
        if not has_cube(doc):
            yield
            return
        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(hub_lock(self.home, timeout=LOCK_WAIT))
            except ConflictError:
                raise ConflictError(
                    f"collection {collection_id!r}: an ingest is publishing; retry in a minute"
                ) from None
            yield

    def publish(
        self,
        collection_id: str,
        change: Change,
        audit: Callable[[int], list[AuditEntry]],
    ) -> tuple[dict[str, Any], int]:
        """Publish the documents *change* makes as the next version; return them and it.

        *audit* receives the new version number and returns the entries to record with it.
        """
        for attempt in range(ATTEMPTS):
            with self._guard(collection_id):
                current = self.current(collection_id)
                collection, items = change(current)
                collection = copy.deepcopy(collection)
                previous = current.version
                version = (previous.version + 1) if previous else 1
                collection["sco:version"] = version
                marks: dict[str, Any] = {"sco:version": version}
                if not has_cube(collection):
                    marks["sco:catalog_only"] = True
                stamped = []
                for item in items:
                    item = copy.deepcopy(item)
                    item["properties"] = {**item.get("properties", {}), **marks}
                    stamped.append(item)
                record = VersionRecord(
                    collection_id=collection_id,
                    version=version,
                    cube_href=previous.cube_href if previous else "",
                    fingerprint=(
                        previous.fingerprint
                        if previous and previous.cube_href
                        else _fingerprint(collection, stamped)
                    ),
                    recipe_digest=previous.recipe_digest if previous else "",
                    created=datetime.now(UTC),
                    sources=previous.sources if previous else (),
                    cube_checksums=previous.cube_checksums if previous else {},
                )
                try:
                    with self.catalog.engine.begin() as conn:
                        self.catalog._publish(conn, collection, stamped, record)
                        self.audit.record(*audit(version), conn=conn)
                except (ConflictError, SAIntegrityError):
                    if attempt == ATTEMPTS - 1:
                        raise ConflictError(
                            f"collection {collection_id!r} changed while this write ran; "
                            "send it again"
                        ) from None
                    continue
                return collection, version
        raise AssertionError("unreachable")

    def delete_collection(
        self, collection_id: str, check: Callable[[Current], None], entry: AuditEntry
    ) -> None:
        """Remove a catalog-only collection, its items and versions (after *check* passes)."""
        current = self.current(collection_id, with_items=False)
        check(current)
        if current.has_cube:
            raise ConflictError(
                f"collection {collection_id!r} holds a cube: cube collections are not deleted "
                "over HTTP"
            )
        items, versions, collections = schema.items, schema.versions, schema.collections
        with self.catalog.engine.begin() as conn:
            if self.catalog.is_sqlite:
                conn.execute(
                    text(
                        "DELETE FROM sco_items_rtree WHERE pk IN "
                        "(SELECT pk FROM sco_items WHERE collection_id = :cid)"
                    ),
                    {"cid": collection_id},
                )
            conn.execute(delete(items).where(items.c.collection_id == collection_id))
            conn.execute(delete(versions).where(versions.c.collection_id == collection_id))
            gone = conn.execute(delete(collections).where(collections.c.id == collection_id))
            if gone.rowcount != 1:
                raise NotFoundError(f"no collection {collection_id!r}")
            self.audit.record(entry, conn=conn)
