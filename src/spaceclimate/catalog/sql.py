"""The SQL catalog backend: SQLite (the embedded default) and PostgreSQL, one class.

STAC documents are stored as JSON next to the columns search filters on. The schema comes
from the migrations (:mod:`spaceclimate.db.migrate`) on both databases. What differs by
database is how item bounding boxes and time ranges are indexed: on SQLite an R*Tree
virtual table, kept in the same transaction as the items; on PostgreSQL one GiST index over
each item's ``box`` and ``tstzrange`` (:mod:`spaceclimate.catalog.pg`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Engine,
    and_,
    event,
    false,
    func,
    insert,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError as SAIntegrityError
from sqlalchemy.sql.elements import ColumnElement

from spaceclimate.catalog import pg
from spaceclimate.catalog.base import SearchQuery, SearchResult, SourceRecord, VersionRecord
from spaceclimate.catalog.sql_filter import SQLFilterTranslator, register_sqlite_functions
from spaceclimate.db import migrate, schema
from spaceclimate.db.engine import (
    PoolSettings,
    configure_sqlite,
    create_db_engine,
    normalise_url,
)
from spaceclimate.errors import ConflictError, InputError, NotFoundError
from spaceclimate.params import validate_bbox
from spaceclimate.viewer import current_viewer

__all__ = ["SQLCatalogBackend", "configure_sqlite"]


def _iso(value: Any) -> str | None:
    """Normalise an ISO 8601 string or datetime to ``YYYY-MM-DDTHH:MM:SSZ`` (UTC)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return str(value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))


def _item_range(item: dict[str, Any]) -> tuple[str | None, str | None]:
    props = item.get("properties", {})
    start = props.get("start_datetime") or props.get("datetime")
    end = props.get("end_datetime") or props.get("datetime")
    return _iso(start), _iso(end)


def _collection_fields(doc: dict[str, Any]) -> dict[str, Any]:
    bbox = doc["extent"]["spatial"]["bbox"][0]
    start, end = doc["extent"]["temporal"]["interval"][0]
    agencies = list(doc.get("sco:agencies", [])) + [p["name"] for p in doc.get("providers", [])]
    words = [doc["id"], doc.get("title", ""), doc.get("description", "")]
    words += list(doc.get("keywords", []))
    return {
        "ecv": str(doc.get("sco:ecv", "")).lower(),
        "agencies": "|".join(a.lower() for a in agencies),
        "text": " ".join(words).lower(),
        "minx": bbox[0],
        "miny": bbox[1],
        "maxx": bbox[2],
        "maxy": bbox[3],
        "start": _iso(start),
        "end": _iso(end),
        "owner": doc.get("sco:owner") or None,
    }


def _visible(owner_column: Any) -> ColumnElement[bool] | None:
    """The condition that the current viewer sees a collection (None: sees every one)."""
    viewer = current_viewer()
    if viewer.admin:
        return None
    if viewer.owner is None:
        return owner_column.is_(None)
    return or_(owner_column.is_(None), owner_column == viewer.owner)


def _item_row(collection_id: str, version: int, item: dict[str, Any]) -> dict[str, Any]:
    """Return the items-table row of *item*; InputError when its bbox or time is unusable."""
    item_id = item.get("id")
    try:
        start, end = _item_range(item)
        minx, miny, maxx, maxy = (float(v) for v in item["bbox"][:4])
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"item {item_id!r} of {collection_id}: unusable bbox or time") from exc
    if minx > maxx or miny > maxy:
        raise InputError(f"item {item_id!r} of {collection_id}: bbox corners are swapped")
    if start is not None and end is not None and end < start:
        raise InputError(f"item {item_id!r} of {collection_id}: time range ends before it starts")
    return {
        "collection_id": collection_id,
        "version": version,
        "item_id": item_id,
        "start": start,
        "end": end,
        "minx": minx,
        "miny": miny,
        "maxx": maxx,
        "maxy": maxy,
        "doc": item,
    }


class SQLCatalogBackend:
    """Catalog backend on SQLite or PostgreSQL, reached through a SQLAlchemy URL.

    Parameters
    ----------
    url
        ``sqlite:///path/catalog.db``, or ``postgresql://user@host/db`` (driver psycopg 3;
        ``postgresql+psycopg://`` is the same).
    pool
        Connection pool of a server database; default from ``SCO_CATALOG_POOL_*``.
    """

    capabilities: frozenset[str] = frozenset({"transactions"})

    def __init__(self, url: str, pool: PoolSettings | None = None) -> None:
        self.url = normalise_url(url)
        self.engine: Engine = create_db_engine(self.url, pool)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        if self.is_sqlite:
            event.listen(self.engine, "connect", register_sqlite_functions)
        elif self.engine.dialect.name != "postgresql":
            raise InputError(f"catalog URL {url.split('://')[0]!r}: SQLite or PostgreSQL only")
        self.filters = SQLFilterTranslator(schema.items, self.is_sqlite)

    # -- set-up -----------------------------------------------------------------------------
    def init(self) -> None:
        """Bring the schema to the newest migration (creating it in an empty database)."""
        migrate.upgrade(self.engine)

    def close(self) -> None:
        """Dispose of the connection pool."""
        self.engine.dispose()

    # -- publishing -------------------------------------------------------------------------
    def publish(
        self, collection: dict[str, Any], items: list[dict[str, Any]], version: VersionRecord
    ) -> None:
        """Make a new version with its items visible in one transaction."""
        if collection["id"] != version.collection_id:
            raise InputError("collection id and version record disagree")
        try:
            with self.engine.begin() as conn:
                self._publish(conn, collection, items, version)
        except SAIntegrityError as exc:
            raise ConflictError(
                f"{version.collection_id} v{version.version}: conflicts with the catalog"
            ) from exc

    def _publish(
        self,
        conn: Connection,
        collection: dict[str, Any],
        items: list[dict[str, Any]],
        version: VersionRecord,
    ) -> None:
        cid = version.collection_id
        latest = conn.execute(
            select(schema.collections.c.latest_version).where(schema.collections.c.id == cid)
        ).scalar()
        expected = (latest or 0) + 1
        if version.version != expected:
            raise ConflictError(f"{cid}: version {version.version} is not the next ({expected})")
        conn.execute(
            insert(schema.versions).values(
                collection_id=cid,
                version=version.version,
                cube_href=version.cube_href,
                fingerprint=version.fingerprint,
                recipe_digest=version.recipe_digest,
                created=_iso(version.created),
                sources=[s.__dict__ for s in version.sources],
                cube_checksums=version.cube_checksums,
                doc=collection,
            )
        )
        fields = _collection_fields(collection)
        if latest is None:
            conn.execute(
                insert(schema.collections).values(
                    id=cid, latest_version=version.version, doc=collection, **fields
                )
            )
        else:
            conn.execute(
                update(schema.collections)
                .where(schema.collections.c.id == cid)
                .values(latest_version=version.version, doc=collection, **fields)
            )
        rows = [_item_row(cid, version.version, item) for item in items]
        if not rows:
            return
        pks = conn.execute(
            insert(schema.items).returning(schema.items.c.pk, sort_by_parameter_order=True),
            rows,
        ).scalars()
        if self.is_sqlite:
            conn.execute(
                text(
                    "INSERT INTO sco_items_rtree (pk, minx, maxx, miny, maxy) "
                    "VALUES (:pk, :minx, :maxx, :miny, :maxy)"
                ),
                [
                    {
                        "pk": pk,
                        "minx": r["minx"],
                        "maxx": r["maxx"],
                        "miny": r["miny"],
                        "maxy": r["maxy"],
                    }
                    for pk, r in zip(pks, rows, strict=True)
                ],
            )

    # -- versions ---------------------------------------------------------------------------
    @staticmethod
    def _version(row: Any) -> VersionRecord:
        return VersionRecord(
            collection_id=row.collection_id,
            version=row.version,
            cube_href=row.cube_href,
            fingerprint=row.fingerprint,
            recipe_digest=row.recipe_digest,
            created=datetime.fromisoformat(row.created.replace("Z", "+00:00")),
            sources=tuple(SourceRecord(**s) for s in row.sources),
            cube_checksums=dict(row.cube_checksums),
        )

    def latest_version(self, collection_id: str) -> VersionRecord | None:
        """Return the newest version of a collection, or None."""
        v = schema.versions
        with self.engine.connect() as conn:
            row = conn.execute(
                select(v)
                .where(v.c.collection_id == collection_id)
                .order_by(v.c.version.desc())
                .limit(1)
            ).first()
        return self._version(row) if row else None

    def versions(self, collection_id: str) -> list[VersionRecord]:
        """Return every version of a collection, oldest first."""
        v = schema.versions
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(v).where(v.c.collection_id == collection_id).order_by(v.c.version)
            ).all()
        return [self._version(r) for r in rows]

    def referenced_cubes(self) -> set[str]:
        """Return the cube href of every version of every collection."""
        with self.engine.connect() as conn:
            return set(conn.execute(select(schema.versions.c.cube_href)).scalars())

    # -- reading ----------------------------------------------------------------------------
    def get_collection(self, collection_id: str) -> dict[str, Any]:
        """Return the latest Collection document (if the current viewer sees it)."""
        c = schema.collections
        with self.engine.connect() as conn:
            row = conn.execute(select(c.c.doc, c.c.owner).where(c.c.id == collection_id)).first()
        if row is None or not current_viewer().sees(row.owner):
            raise NotFoundError(f"no collection {collection_id!r}")
        return dict(row.doc)

    def get_collection_version(self, collection_id: str, version: int) -> dict[str, Any]:
        """Return the Collection document as of *version*."""
        self.get_collection(collection_id)  # the viewer must see the collection
        v = schema.versions
        with self.engine.connect() as conn:
            doc = conn.execute(
                select(v.c.doc).where(v.c.collection_id == collection_id, v.c.version == version)
            ).scalar()
        if doc is None:
            raise NotFoundError(f"no version {version} of collection {collection_id!r}")
        return dict(doc)

    def list_collections(self) -> list[dict[str, Any]]:
        """Return every collection the current viewer sees, sorted by id."""
        c = schema.collections
        query = select(c.c.doc).order_by(c.c.id)
        seen = _visible(c.c.owner)
        if seen is not None:
            query = query.where(seen)
        with self.engine.connect() as conn:
            return [dict(d) for d in conn.execute(query).scalars()]

    def collection_ids(self) -> list[str]:
        """Return the ids of every published collection the current viewer sees, sorted."""
        c = schema.collections.c
        query = select(c.id).order_by(c.id)
        seen = _visible(c.owner)
        if seen is not None:
            query = query.where(seen)
        with self.engine.connect() as conn:
            return [str(cid) for cid in conn.execute(query).scalars()]

    def _hidden(self, conn: Connection) -> list[str]:
        """Ids of the private collections the current viewer does not see (usually none)."""
        viewer = current_viewer()
        if viewer.admin:
            return []
        c = schema.collections.c
        query = select(c.id).where(c.owner.is_not(None))
        if viewer.owner is not None:
            query = query.where(c.owner != viewer.owner)
        return [str(x) for x in conn.execute(query).scalars()]

    def set_owner(self, collection_id: str, owner: str | None) -> dict[str, Any]:
        """Make a collection private to *owner*, or public (None); return its document."""
        c = schema.collections
        doc = self.get_collection(collection_id)
        if owner is None:
            doc.pop("sco:owner", None)
        else:
            doc["sco:owner"] = owner
        with self.engine.begin() as conn:
            conn.execute(update(c).where(c.c.id == collection_id).values(owner=owner, doc=doc))
        return doc

    def get_item(self, collection_id: str, item_id: str) -> dict[str, Any]:
        """Return one item of the latest version of a collection."""
        result = self.search(SearchQuery(collections=(collection_id,), ids=(item_id,), limit=1))
        if not result.features:
            raise NotFoundError(f"no item {item_id!r} in collection {collection_id!r}")
        return result.features[0]

    def list_items(self, collection_id: str, limit: int = 100, offset: int = 0) -> SearchResult:
        """Return a page of the items of a collection's latest version."""
        return self.search(SearchQuery(collections=(collection_id,), limit=limit, offset=offset))

    # -- search -----------------------------------------------------------------------------
    def _time_filter(self, start_col: Any, end_col: Any, query: SearchQuery) -> list[Any]:
        conds: list[Any] = []
        if query.start is not None:
            conds.append(or_(end_col.is_(None), end_col >= _iso(query.start)))
        if query.end is not None:
            conds.append(or_(start_col.is_(None), start_col <= _iso(query.end)))
        return conds

    def _collection_filter(self, query: SearchQuery) -> list[ColumnElement[bool]]:
        c = schema.collections.c
        conds: list[ColumnElement[bool]] = []
        if query.ecv:
            conds.append(c.ecv == query.ecv.lower())
        if query.agency:
            conds.append(c.agencies.contains(query.agency.lower(), autoescape=True))
        return conds

    def _item_conditions(self, query: SearchQuery) -> list[Any]:
        """Conditions on items and their collection, except the version (see :meth:`search`)."""
        i, c = schema.items.c, schema.collections.c
        conds: list[Any] = list(self._collection_filter(query))
        if query.ids:
            conds.append(i.item_id.in_(query.ids))
        if query.start is not None or query.end is not None:
            conds.append(i.start.is_not(None))
            if self.is_sqlite:
                conds += self._time_filter(i.start, i.end, query)
            else:
                conds.append(pg.period_condition(schema.items, query.start, query.end))
        if query.bbox:
            minx, miny, maxx, maxy = query.bbox
            if self.is_sqlite:
                conds.append(
                    i.pk.in_(
                        text(
                            "SELECT pk FROM sco_items_rtree WHERE minx <= :qmaxx AND "
                            "maxx >= :qminx AND miny <= :qmaxy AND maxy >= :qminy"
                        ).bindparams(qminx=minx, qmaxx=maxx, qminy=miny, qmaxy=maxy)
                    )
                )
            else:
                conds.append(pg.bbox_condition(schema.items, query.bbox))
        if query.q:
            conds.append(
                _text_match(
                    query.q,
                    lambda word: or_(
                        c.text.contains(word, autoescape=True),
                        func.lower(i.item_id).contains(word, autoescape=True),
                    ),
                )
            )
        if query.filter is not None:
            conds.append(self.filters.where(query.filter))
        return conds

    def _latest_versions(self, collections: tuple[str, ...]) -> ColumnElement[bool]:
        """Items of the latest version of each of *collections*, in the search's own statement.

        Each collection's latest version is a scalar subquery, evaluated once per statement,
        so ``(collection_id, version)`` is an index condition and a collection's items are read
        in order from ``ix_sco_items_collection_time``.
        """
        i, c = schema.items.c, schema.collections.c
        return or_(
            false(),
            *(
                and_(
                    i.collection_id == cid,
                    i.version == select(c.latest_version).where(c.id == cid).scalar_subquery(),
                )
                for cid in collections
            ),
        )

    def search(self, query: SearchQuery) -> SearchResult:
        """Search items of the latest version of every collection.

        One statement reads the page and one item more: when no item follows the page (or the
        page is past the end), the number matched is known without counting. Otherwise the
        matches are counted, up to ``query.count_limit`` when given (the result then says
        whether the count is exact). Named collections that no item of the page belongs to
        are looked up, to report the unknown ones. Everything runs on one connection in one
        transaction (on PostgreSQL a ``REPEATABLE READ`` snapshot; SQLite's transactions are
        serialised), so the count and the page see the same versions even while a new one is
        published.
        """
        i, c = schema.items.c, schema.collections.c
        _check_bbox(query)
        conds = self._item_conditions(query)
        named = tuple(dict.fromkeys(query.collections or ()))
        if named:
            conds.append(self._latest_versions(named))
        else:
            conds.append(i.version == c.latest_version)
        source: Any = schema.items
        if not named or query.ecv or query.agency or query.q:
            source = schema.items.join(schema.collections, i.collection_id == c.id)
        where = and_(true(), *conds)
        conn_options = {} if self.is_sqlite else {"isolation_level": "REPEATABLE READ"}
        with self.engine.connect().execution_options(**conn_options) as conn:
            hidden = self._hidden(conn)
            if hidden:  # private collections of others: as if they did not exist
                where = and_(where, i.collection_id.not_in(hidden))
            rows = conn.execute(
                select(i.collection_id, i.doc)
                .select_from(source)
                .where(where)
                .order_by(*self.filters.order_by(query.sortby), *_DEFAULT_ORDER)
                .limit(query.limit + 1)
                .offset(query.offset)
            ).all()
            features = [dict(doc) for _cid, doc in rows[: query.limit]]
            unknown = self._unknown(conn, named, {cid for cid, _doc in rows}, hidden)
            end = query.offset + len(features)
            if len(rows) <= query.limit and (features or query.offset == 0):
                return SearchResult(features, end, unknown_collections=unknown)
            counted = select(i.pk).select_from(source).where(where)
            cap = None
            if query.count_limit is not None:
                cap = max(query.count_limit, end + 1)
                counted = counted.limit(cap)
            matched = conn.execute(select(func.count()).select_from(counted.subquery())).scalar()
        matched = int(matched or 0)
        exact = cap is None or matched < cap
        return SearchResult(features, matched, exact, unknown_collections=unknown)

    @staticmethod
    def _unknown(
        conn: Connection, named: tuple[str, ...], seen: set[str], hidden: Collection[str] = ()
    ) -> tuple[str, ...]:
        """The collections of *named* that do not exist or are *hidden* from the viewer (those
        *seen* in the page exist)."""
        missing = tuple(cid for cid in named if cid not in seen)
        if not missing:
            return ()
        c = schema.collections.c
        found = set(conn.execute(select(c.id).where(c.id.in_(missing))).scalars())
        return tuple(cid for cid in missing if cid not in found or cid in hidden)

    def search_collections(self, query: SearchQuery) -> SearchResult:
        """Search collections by bbox, time, ECV, agency, free text and ids."""
        c = schema.collections.c
        _check_bbox(query)
        conds: list[Any] = list(self._collection_filter(query))
        if query.ids:
            conds.append(c.id.in_(query.ids))
        if query.collections:
            conds.append(c.id.in_(query.collections))
        conds += self._time_filter(c.start, c.end, query)
        seen = _visible(c.owner)
        if seen is not None:
            conds.append(seen)
        if query.bbox:
            minx, miny, maxx, maxy = query.bbox
            conds += [c.minx <= maxx, c.maxx >= minx, c.miny <= maxy, c.maxy >= miny]
        if query.q:
            conds.append(_text_match(query.q, lambda w: c.text.contains(w, autoescape=True)))
        where = and_(true(), *conds)
        with self.engine.connect() as conn:
            matched = conn.execute(
                select(func.count()).select_from(schema.collections).where(where)
            ).scalar()
            rows = conn.execute(
                select(c.doc).where(where).order_by(c.id).limit(query.limit).offset(query.offset)
            ).scalars()
            features = [dict(d) for d in rows]
        return SearchResult(features=features, matched=int(matched or 0))


#: The order of search results after any sort keys: by collection, time (untimed items
#: first, on every database), id; the same as index ``ix_sco_items_collection_time``.
_DEFAULT_ORDER = (
    schema.items.c.collection_id,
    schema.items.c.start.asc().nulls_first(),
    schema.items.c.item_id,
)


def _check_bbox(query: SearchQuery) -> None:
    """Refuse an invalid bbox (swapped corners: split antimeridian-crossing boxes first)."""
    if query.bbox is not None:
        validate_bbox(query.bbox, "bbox")


def _text_match(q: str, word_matches: Callable[[str], ColumnElement[bool]]) -> ColumnElement[bool]:
    """Free text: every word of a comma-separated group must match; any group may."""
    groups = [g.split() for g in q.lower().split(",") if g.split()]
    if not groups:
        return true()
    return or_(*(and_(*(word_matches(w) for w in words)) for words in groups))
