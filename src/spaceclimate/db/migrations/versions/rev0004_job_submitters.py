"""Jobs belong to whoever submitted them.

``sco_jobs`` gains ``submitter`` (``key:<id>`` for a job an API key submitted, ``anonymous``
for one submitted without a key, NULL for one made on the hub's machine) and
``access_digest`` (the SHA-256 of the access token an anonymous job was given). The API shows
and dismisses a job only for its submitter (or an admin key).

Ingest jobs recorded the submitting key's id among their public inputs: it moves to
``submitter``. Older analytics jobs have no submitter: only admin keys (and ``sco jobs`` on
the hub's machine) see them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels = None
depends_on = None

_JOBS = sa.table(
    "sco_jobs",
    sa.column("id", sa.String),
    sa.column("process_id", sa.String),
    sa.column("inputs", sa.JSON),
    sa.column("submitter", sa.String),
)


def upgrade() -> None:
    """Add the two columns and their index; move ingest jobs' key ids to ``submitter``."""
    op.add_column("sco_jobs", sa.Column("submitter", sa.String(100)))
    op.add_column("sco_jobs", sa.Column("access_digest", sa.String(64)))
    op.create_index("ix_sco_jobs_submitter", "sco_jobs", ["submitter"])
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(_JOBS.c.id, _JOBS.c.inputs).where(_JOBS.c.process_id == "ingest")
    ).all()
    for job_id, inputs in rows:
        if not isinstance(inputs, dict) or "key" not in inputs:
            continue
        kept = {k: v for k, v in inputs.items() if k != "key"}
        bind.execute(
            sa.update(_JOBS)
            .where(_JOBS.c.id == job_id)
            .values(submitter=f"key:{inputs['key']}", inputs=kept)
        )


def downgrade() -> None:
    """Drop the columns (ingest jobs keep no key id in their inputs)."""
    op.drop_index("ix_sco_jobs_submitter", table_name="sco_jobs")
    with op.batch_alter_table("sco_jobs") as batch:
        batch.drop_column("access_digest")
        batch.drop_column("submitter")
