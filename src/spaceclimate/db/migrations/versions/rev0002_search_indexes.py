"""Search indexes: items by collection version in time order; PostgreSQL's GiST of box and time.

Both databases get a B-tree over ``(collection_id, version, start, item_id)`` (items without
time first): a collection's items in the order search returns them, so a page of one
collection is read in order and stops at the page's end, however many items and versions
the collection has.

PostgreSQL also gets one GiST index over each item's
``box(point(minx, miny), point(maxx, maxy))`` and
``tstzrange(sco_utc(start), sco_utc("end"), '[]')`` (built-in types, no PostGIS), so a
search by bbox and datetime is one index scan; the B-tree over the four box corners, which
no PostgreSQL plan uses for overlap, is dropped. ``sco_utc`` reads the catalog's
``YYYY-MM-DDTHH:MM:SSZ`` text; it is declared IMMUTABLE because that text always names UTC.
SQLite keeps its R*Tree (revision 0001).

Revision ID: 0002
Revises: 0001
Create Date: 2026-07-01
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the collection-order B-tree; on PostgreSQL the function and GiST index too."""
    postgresql = op.get_bind().dialect.name == "postgresql"
    nulls = " NULLS FIRST" if postgresql else ""  # SQLite sorts NULL first already
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_sco_items_collection_time "
        f"ON sco_items (collection_id, version, start{nulls}, item_id)"
    )
    if not postgresql:
        return
    op.execute(
        "CREATE OR REPLACE FUNCTION sco_utc(text) RETURNS timestamptz "
        "LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT $1::timestamptz $$"
    )
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_sco_items_space_time ON sco_items USING gist ("
        "box(point(minx, miny), point(maxx, maxy)), "
        "tstzrange(sco_utc(start), sco_utc(\"end\"), '[]'))"
    )
    op.execute("DROP INDEX IF EXISTS ix_sco_items_bbox")


def downgrade() -> None:
    """Drop what :func:`upgrade` made; restore the corner B-tree on PostgreSQL."""
    op.execute("DROP INDEX IF EXISTS ix_sco_items_collection_time")
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_sco_items_space_time")
    op.execute("DROP FUNCTION IF EXISTS sco_utc(text)")
    op.execute("CREATE INDEX IF NOT EXISTS ix_sco_items_bbox ON sco_items (minx, maxx, miny, maxy)")
