"""Baseline: collections, their versions and items (and SQLite's R*Tree of item boxes).

Every table and index is created only when missing, so a catalog made before migrations
existed (by ``metadata.create_all``) is adopted as it is and stamped with this revision.

Revision ID: 0001
Revises:
Create Date: 2026-07-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels = None
depends_on = None

#: (index name, table, columns, unique)
_INDEXES = [
    ("ix_sco_collections_ecv", "sco_collections", ["ecv"], False),
    ("ix_sco_items_version_item", "sco_items", ["collection_id", "version", "item_id"], True),
    ("ix_sco_items_time", "sco_items", ["start", "end"], False),
    ("ix_sco_items_bbox", "sco_items", ["minx", "maxx", "miny", "maxy"], False),
]


def _create_tables(existing: set[str]) -> None:
    if "sco_collections" not in existing:
        op.create_table(
            "sco_collections",
            sa.Column("id", sa.String(200), primary_key=True),
            sa.Column("latest_version", sa.Integer, nullable=False),
            sa.Column("ecv", sa.String(100), nullable=False),
            sa.Column("agencies", sa.Text, nullable=False),
            sa.Column("text", sa.Text, nullable=False),
            sa.Column("minx", sa.Float),
            sa.Column("miny", sa.Float),
            sa.Column("maxx", sa.Float),
            sa.Column("maxy", sa.Float),
            sa.Column("start", sa.String(40)),
            sa.Column("end", sa.String(40)),
            sa.Column("doc", sa.JSON, nullable=False),
        )
    if "sco_collection_versions" not in existing:
        op.create_table(
            "sco_collection_versions",
            sa.Column("collection_id", sa.String(200), primary_key=True),
            sa.Column("version", sa.Integer, primary_key=True),
            sa.Column("cube_href", sa.Text, nullable=False),
            sa.Column("fingerprint", sa.String(64), nullable=False),
            sa.Column("recipe_digest", sa.String(64), nullable=False),
            sa.Column("created", sa.String(40), nullable=False),
            sa.Column("sources", sa.JSON, nullable=False),
            sa.Column("cube_checksums", sa.JSON, nullable=False),
            sa.Column("doc", sa.JSON, nullable=False),
        )
    if "sco_items" not in existing:
        op.create_table(
            "sco_items",
            sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("collection_id", sa.String(200), nullable=False),
            sa.Column("version", sa.Integer, nullable=False),
            sa.Column("item_id", sa.String(300), nullable=False),
            sa.Column("start", sa.String(40)),
            sa.Column("end", sa.String(40)),
            sa.Column("minx", sa.Float, nullable=False),
            sa.Column("miny", sa.Float, nullable=False),
            sa.Column("maxx", sa.Float, nullable=False),
            sa.Column("maxy", sa.Float, nullable=False),
            sa.Column("doc", sa.JSON, nullable=False),
            sa.ForeignKeyConstraint(
                ["collection_id", "version"],
                ["sco_collection_versions.collection_id", "sco_collection_versions.version"],
            ),
        )


def upgrade() -> None:
    """Create whatever of the baseline schema is missing."""
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    _create_tables(set(inspector.get_table_names()))
    inspector = sa.inspect(bind)
    for name, table, columns, unique in _INDEXES:
        if name not in {ix["name"] for ix in inspector.get_indexes(table)}:
            op.create_index(name, table, columns, unique=unique)
    if bind.dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS sco_items_rtree "
            "USING rtree(pk, minx, maxx, miny, maxy)"
        )


def downgrade() -> None:
    """Drop the catalog (every collection, version and item)."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS sco_items_rtree")
    op.drop_table("sco_items")
    op.drop_table("sco_collection_versions")
    op.drop_table("sco_collections")
