"""Territories and the local data uploaded into them.

``sco_territories`` holds the places users study (a polygon, a point with a radius or a named
region, resolved to a polygon), each owned by the key that made it unless published.
``sco_local_datasets`` and ``sco_local_values`` hold the station series uploaded into a
territory: one dataset per variable, its values one row per station and time.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the three tables."""
    op.create_table(
        "sco_territories",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("definition", sa.JSON, nullable=False),
        sa.Column("geometry", sa.JSON, nullable=False),
        sa.Column("minx", sa.Float, nullable=False),
        sa.Column("miny", sa.Float, nullable=False),
        sa.Column("maxx", sa.Float, nullable=False),
        sa.Column("maxy", sa.Float, nullable=False),
        sa.Column("owner", sa.String(100)),
        sa.Column("published", sa.Boolean, nullable=False),
        sa.Column("created", sa.String(40), nullable=False),
    )
    op.create_index("ix_sco_territories_owner", "sco_territories", ["owner"])
    op.create_table(
        "sco_local_datasets",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("territory_id", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("variable", sa.String(200), nullable=False),
        sa.Column("units", sa.String(100), nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("start", sa.String(40), nullable=False),
        sa.Column("end", sa.String(40), nullable=False),
        sa.Column("created", sa.String(40), nullable=False),
        sa.Column("doc", sa.JSON, nullable=False),
    )
    op.create_index("ix_sco_local_datasets_territory_id", "sco_local_datasets", ["territory_id"])
    op.create_table(
        "sco_local_values",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("dataset_id", sa.String(100), nullable=False),
        sa.Column("station", sa.String(200), nullable=False),
        sa.Column("time", sa.String(40), nullable=False),
        sa.Column("value", sa.Float, nullable=False),
    )
    op.create_index(
        "ix_sco_local_values_dataset", "sco_local_values", ["dataset_id", "station", "time"]
    )


def downgrade() -> None:
    """Drop the three tables."""
    op.drop_table("sco_local_values")
    op.drop_table("sco_local_datasets")
    op.drop_table("sco_territories")
