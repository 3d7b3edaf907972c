"""Database engines of the hub: URL normalisation, connection pooling, SQLite settings.

SQLite (the embedded default) needs no pool settings. Server databases (PostgreSQL) get a
SQLAlchemy ``QueuePool`` sized by the ``SCO_CATALOG_POOL_*`` settings, so that several API
threads share a bounded number of connections per process::

    SCO_CATALOG_URL=postgresql://sco@db.example.org/sco
    SCO_CATALOG_POOL_SIZE=5         # connections kept open per process
    SCO_CATALOG_MAX_OVERFLOW=10     # extra connections under load, closed when returned
    SCO_CATALOG_POOL_TIMEOUT=30     # seconds to wait for a free connection
    SCO_CATALOG_POOL_RECYCLE=1800   # seconds after which a connection is replaced
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError

from spaceclimate.errors import InputError

#: The driver used when a PostgreSQL URL names none (``postgresql://``): psycopg 3.
POSTGRESQL_DRIVER = "psycopg"


@dataclass(frozen=True)
class PoolSettings:
    """Connection pool of a server database (ignored for SQLite)."""

    size: int = 5
    max_overflow: int = 10
    timeout: float = 30.0
    recycle: int = 1800

    @classmethod
    def from_settings(cls) -> PoolSettings:
        """Read the pool settings from the hub's settings (``SCO_CATALOG_POOL_*``)."""
        from spaceclimate.config import get_settings

        s = get_settings()
        return cls(
            size=s.catalog_pool_size,
            max_overflow=s.catalog_max_overflow,
            timeout=s.catalog_pool_timeout,
            recycle=s.catalog_pool_recycle,
        )


def normalise_url(url: str) -> str:
    """Return *url* with an explicit driver: ``postgresql://`` becomes ``postgresql+psycopg://``.

    Raises
    ------
    InputError
        When *url* is not a database URL.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise InputError(f"catalog URL {redact_url(url)!r} is not a database URL") from exc
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername=f"postgresql+{POSTGRESQL_DRIVER}")
    return parsed.render_as_string(hide_password=False)


def redact_url(url: str) -> str:
    """Return *url* with its password hidden (for messages and logs)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url.split("@")[-1]


def is_sqlite(url: str) -> bool:
    """True when *url* names a SQLite database."""
    return url.split(":", 1)[0].split("+", 1)[0].lower() == "sqlite"


def create_db_engine(url: str, pool: PoolSettings | None = None) -> Engine:
    """Create the engine of the catalog database at *url*.

    SQLite gets the hub's pragmas (WAL, busy timeout, ``BEGIN IMMEDIATE``) and its folder
    created; any other database a ``QueuePool`` with *pool* (default: from the settings)
    and pre-ping, so a connection dropped by the server is replaced instead of failing.
    """
    url = normalise_url(url)
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, pool_pre_ping=True)
        configure_sqlite(engine)
        return engine
    pool = pool or PoolSettings.from_settings()
    options: dict[str, Any] = {
        "pool_size": pool.size,
        "max_overflow": pool.max_overflow,
        "pool_timeout": pool.timeout,
        "pool_recycle": pool.recycle,
        "pool_pre_ping": True,
    }
    return create_engine(url, **options)


def configure_sqlite(engine: Engine) -> None:
    """Apply the hub's SQLite settings (WAL, busy timeout, immediate transactions) to *engine*."""
    event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "begin", _sqlite_begin)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the driver, manage transactions so BEGIN IMMEDIATE below applies.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=FULL")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")
