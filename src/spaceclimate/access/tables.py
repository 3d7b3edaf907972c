"""Tables of API keys, the audit log and rate-limit counters (created by migration 0003)."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Float, Integer, MetaData, String, Table

metadata = MetaData()

#: Write keys: the salted HMAC-SHA256 of each key's secret, never the secret itself.
api_keys = Table(
    "sco_api_keys",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("salt", String(64), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("created", String(40), nullable=False),
    Column("revoked", String(40)),
)

#: Who published what, when, from where.
audit = Table(
    "sco_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("time", String(40), nullable=False),
    Column("action", String(40), nullable=False),
    Column("key_id", String(32)),
    Column("key_name", String(200)),
    Column("collection_id", String(200)),
    Column("item_id", String(300)),
    Column("version", Integer),
    Column("job_id", String(64)),
    Column("client", String(200)),
    Column("request_id", String(128)),
    Column("detail", JSON),
)

#: Requests counted per bucket (``write:key:<id>``, ``read:addr:<ip>``, ...) and time window.
rate_limits = Table(
    "sco_rate_limits",
    metadata,
    Column("bucket", String(200), primary_key=True),
    Column("window_start", Integer, primary_key=True),
    Column("hits", Integer, nullable=False),
    Column("expires", Float, nullable=False),
)
