"""Private derived collections: ``sco_collections.owner``.

A derived collection made with an API key belongs to it (``key:<id>``) until published; NULL
is public. Existing collections stay public.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the column and its index (a catalog made from the current tables has them)."""
    inspector = sa.inspect(op.get_bind())
    if "owner" not in {c["name"] for c in inspector.get_columns("sco_collections")}:
        op.add_column("sco_collections", sa.Column("owner", sa.String(100)))
    if "ix_sco_collections_owner" not in {
        i["name"] for i in inspector.get_indexes("sco_collections")
    }:
        op.create_index("ix_sco_collections_owner", "sco_collections", ["owner"])


def downgrade() -> None:
    """Drop them."""
    op.drop_index("ix_sco_collections_owner", table_name="sco_collections")
    with op.batch_alter_table("sco_collections") as batch:
        batch.drop_column("owner")
