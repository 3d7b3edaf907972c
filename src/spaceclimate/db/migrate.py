"""Schema migrations of the hub's database, for SQLite and PostgreSQL alike.

The scripts live in ``migrations/versions`` beside this module; the revision a database is
at is kept in its table ``sco_alembic_version``. Opening a catalog upgrades it to the newest
revision (:meth:`SQLCatalogBackend.init`), and ``sco catalog migrate`` does it on demand.
Upgrades hold a lock for their whole transaction (PostgreSQL: an advisory lock; SQLite: the
write lock of ``BEGIN IMMEDIATE``), so processes starting together migrate once.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import Connection

if TYPE_CHECKING:
    from alembic.config import Config

#: Table holding the revision the catalog database is at.
VERSION_TABLE = "sco_alembic_version"
#: Folder of the migration environment and scripts.
MIGRATIONS = Path(__file__).with_name("migrations")
#: Key of the PostgreSQL advisory lock held while migrating ("sco" + "mig" as bytes).
_LOCK_KEY = 0x73636F6D6967


#: The ``revision = "..."`` and ``down_revision = ...`` lines of a migration script.
_REVISION_LINE = re.compile(r'^(revision|down_revision)\b[^=\n]*=\s*(?:"([^"]*)"|None)', re.M)


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Config:
    """Return the migration configuration, bound to *connection* (or to *url*)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


@cache
def head_revision() -> str:
    """Return the newest revision of the migration scripts: the one no script revises.

    Read from the scripts' own ``revision`` lines, so that opening a catalog already at
    the head does not load the migration tool (a tenth of a second every command)."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for script in (MIGRATIONS / "versions").glob("rev*.py"):
        lines = {m[1]: m[2] for m in _REVISION_LINE.finditer(script.read_text())}
        revisions.add(str(lines["revision"]))
        if lines.get("down_revision"):
            revised.add(str(lines["down_revision"]))
    heads = revisions - revised
    assert len(heads) == 1, f"the migration scripts have {len(heads)} heads"
    return heads.pop()


def current_revision(conn: Connection) -> str | None:
    """Return the revision the database of *conn* is at (None: never migrated)."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    value = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
    return None if value is None else str(value)


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Upgrade the database of *engine* to *revision*; return the revisions before and after.

    Idempotent and cheap when the database is already there (one query).
    """
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        before = current_revision(conn)
        target = head_revision() if revision == "head" else revision
        if before == target:
            return before, before
        from alembic import command

        command.upgrade(alembic_config(conn), revision)
        return before, current_revision(conn)


def downgrade(engine: Engine, revision: str) -> tuple[str | None, str | None]:
    """Downgrade the database of *engine* to *revision* (``base``: drop the catalog)."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        before = current_revision(conn)
        from alembic import command

        command.downgrade(alembic_config(conn), revision)
        return before, current_revision(conn)
