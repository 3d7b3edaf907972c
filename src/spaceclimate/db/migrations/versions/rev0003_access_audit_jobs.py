"""Publishing over HTTP: API keys, the audit log, shared rate-limit counters; jobs.

- ``sco_api_keys``: write keys, stored as a salted HMAC-SHA256 of their secret (the token is
  shown once, at creation), with their scopes and revocation time.
- ``sco_audit``: who (key) published what (action, collection, item, version, job), when and
  from which client address.
- ``sco_rate_limits``: request counters per bucket (key or client address) and time window,
  shared by every API worker (when no Redis is configured).
- ``sco_jobs``: the job queue, until now created by the job store itself; created here only
  when missing, so hubs whose job table already exists keep it as it is.

Revision ID: 0003
Revises: 0002
Create Date: 2026-07-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels = None
depends_on = None


def _create_jobs() -> None:
    op.create_table(
        "sco_jobs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("process_id", sa.String(100), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("progress", sa.Integer, nullable=False),
        sa.Column("created", sa.String(40), nullable=False),
        sa.Column("started", sa.String(40)),
        sa.Column("finished", sa.String(40)),
        sa.Column("updated", sa.String(40), nullable=False),
        sa.Column("inputs", sa.JSON, nullable=False),
        sa.Column("results", sa.JSON),
        sa.Column("owner", sa.String(200)),
        sa.Column("heartbeat", sa.Float),
        sa.Column("cancel_requested", sa.Boolean, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("time_limit", sa.Float, nullable=False),
    )
    op.create_index("ix_sco_jobs_process_id", "sco_jobs", ["process_id"])
    op.create_index("ix_sco_jobs_status", "sco_jobs", ["status"])


def upgrade() -> None:
    """Create the key, audit and rate-limit tables, and the job table when missing."""
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "sco_jobs" not in existing:
        _create_jobs()
    op.create_table(
        "sco_api_keys",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("scopes", sa.JSON, nullable=False),
        sa.Column("salt", sa.String(64), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("created", sa.String(40), nullable=False),
        sa.Column("revoked", sa.String(40)),
    )
    op.create_table(
        "sco_audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("time", sa.String(40), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("key_id", sa.String(32)),
        sa.Column("key_name", sa.String(200)),
        sa.Column("collection_id", sa.String(200)),
        sa.Column("item_id", sa.String(300)),
        sa.Column("version", sa.Integer),
        sa.Column("job_id", sa.String(64)),
        sa.Column("client", sa.String(200)),
        sa.Column("request_id", sa.String(128)),
        sa.Column("detail", sa.JSON),
    )
    op.create_index("ix_sco_audit_time", "sco_audit", ["time"])
    op.create_index("ix_sco_audit_collection", "sco_audit", ["collection_id", "time"])
    op.create_index("ix_sco_audit_key", "sco_audit", ["key_id", "time"])
    op.create_table(
        "sco_rate_limits",
        sa.Column("bucket", sa.String(200), primary_key=True),
        sa.Column("window_start", sa.Integer, primary_key=True),
        sa.Column("hits", sa.Integer, nullable=False),
        sa.Column("expires", sa.Float, nullable=False),
    )
    op.create_index("ix_sco_rate_limits_expires", "sco_rate_limits", ["expires"])


def downgrade() -> None:
    """Drop the tables of this revision (the job queue with them)."""
    op.drop_table("sco_rate_limits")
    op.drop_table("sco_audit")
    op.drop_table("sco_api_keys")
    op.drop_table("sco_jobs")
