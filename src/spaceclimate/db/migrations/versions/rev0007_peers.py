"""Peers of the federation.

``sco_peers`` holds the other nodes whose collections this hub pools (another hub, a STAC
API or a static STAC catalog): the name that is their namespace in the local catalog, their
URL, kind and mode (mirror or reference), and what their last sync did.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision: str | None = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the peers table."""
    op.create_table(
        "sco_peers",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("mode", sa.String(20), nullable=False),
        sa.Column("created", sa.String(40), nullable=False),
        sa.Column("synced", sa.String(40)),
        sa.Column("status", sa.JSON),
    )


def downgrade() -> None:
    """Drop the peers table."""
    op.drop_table("sco_peers")
