"""Tables of the hub's database (SQLAlchemy Core), shared by every SQL dialect.

One database holds the catalog (collections, versions, items), the API keys, audit log and
rate-limit counters of :mod:`spaceclimate.access`, and the job queue of
:mod:`spaceclimate.jobs`. Its migrations (:mod:`spaceclimate.db.migrate`) create them all.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

#: One row per collection: its latest version and the fields search filters on.
collections = Table(
    "sco_collections",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("latest_version", Integer, nullable=False),
    Column("ecv", String(100), nullable=False, index=True),
    Column("agencies", Text, nullable=False),  # lower-cased, "|"-joined, for substring match
    Column("text", Text, nullable=False),  # lower-cased title, description, keywords, id
    Column("minx", Float),
    Column("miny", Float),
    Column("maxx", Float),
    Column("maxy", Float),
    Column("start", String(40)),  # ISO 8601 UTC "YYYY-MM-DDTHH:MM:SSZ" compares as text
    Column("end", String(40)),
    Column("doc", JSON, nullable=False),
    # "key:<id>" of the key a private derived collection belongs to (migration 0006)
    Column("owner", String(100), index=True),
)

#: One row per published (immutable) version of a collection.
versions = Table(
    "sco_collection_versions",
    metadata,
    Column("collection_id", String(200), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("cube_href", Text, nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("recipe_digest", String(64), nullable=False),
    Column("created", String(40), nullable=False),
    Column("sources", JSON, nullable=False),
    Column("cube_checksums", JSON, nullable=False),
    Column("doc", JSON, nullable=False),
)

#: Items of every version; search joins them with their collection's latest version.
items = Table(
    "sco_items",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("collection_id", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("item_id", String(300), nullable=False),
    Column("start", String(40)),
    Column("end", String(40)),
    Column("minx", Float, nullable=False),
    Column("miny", Float, nullable=False),
    Column("maxx", Float, nullable=False),
    Column("maxy", Float, nullable=False),
    Column("doc", JSON, nullable=False),
    ForeignKeyConstraint(
        ["collection_id", "version"],
        ["sco_collection_versions.collection_id", "sco_collection_versions.version"],
    ),
    Index("ix_sco_items_version_item", "collection_id", "version", "item_id", unique=True),
    Index("ix_sco_items_time", "start", "end"),
    Index("ix_sco_items_bbox", "minx", "maxx", "miny", "maxy"),
)

#: SQLite spatial index over item bounding boxes (rowid = items.pk).
SQLITE_RTREE = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS sco_items_rtree USING rtree(pk, minx, maxx, miny, maxy)"
)


# -- access: keys, audit, rate limits (migration 0003) ------------------------------------
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


# -- jobs (migrations 0003, 0004) -------------------------------------------------------------
#: The job queue: every job's state, progress, inputs and results.
jobs = Table(
    "sco_jobs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("process_id", String(100), nullable=False, index=True),
    Column("status", String(20), nullable=False, index=True),
    Column("message", Text, nullable=False, default=""),
    Column("progress", Integer, nullable=False, default=0),
    Column("created", String(40), nullable=False),
    Column("started", String(40)),
    Column("finished", String(40)),
    Column("updated", String(40), nullable=False),
    Column("inputs", JSON, nullable=False),
    Column("results", JSON),
    Column("owner", String(200)),
    Column("heartbeat", Float),
    Column("cancel_requested", Boolean, nullable=False, default=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("time_limit", Float, nullable=False),
    # who may see and dismiss the job (migration 0004): "key:<id>" for a job an API key
    # submitted, "anonymous" for one submitted without (with the digest of its access token),
    # NULL for one made on the hub's machine (admins only)
    Column("submitter", String(100), index=True),
    Column("access_digest", String(64)),
)


# -- territories and their local data (migration 0005) ----------------------------------------
#: Places the hub's users study: a polygon, a point with a radius, or a named region.
territories = Table(
    "sco_territories",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(20), nullable=False),  # polygon, circle or region
    Column("definition", JSON, nullable=False),  # the Feature as it was given
    Column("geometry", JSON, nullable=False),  # the resolved (multi)polygon, GeoJSON
    Column("minx", Float, nullable=False),
    Column("miny", Float, nullable=False),
    Column("maxx", Float, nullable=False),
    Column("maxy", Float, nullable=False),
    # "key:<id>" of the key that made it; NULL for one made on the hub's machine
    Column("owner", String(100), index=True),
    Column("published", Boolean, nullable=False, default=False),
    Column("created", String(40), nullable=False),
)

#: A local (station) series uploaded into a territory: one variable in one unit.
local_datasets = Table(
    "sco_local_datasets",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("territory_id", String(100), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("variable", String(200), nullable=False),
    Column("units", String(100), nullable=False),
    Column("rows", Integer, nullable=False),
    Column("start", String(40), nullable=False),
    Column("end", String(40), nullable=False),
    Column("created", String(40), nullable=False),
    Column("doc", JSON, nullable=False),  # stations, source file, owner, counts
)

#: The values of local datasets: one row per station and time.
local_values = Table(
    "sco_local_values",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("dataset_id", String(100), nullable=False),
    Column("station", String(200), nullable=False),
    Column("time", String(40), nullable=False),  # ISO 8601 UTC, "YYYY-MM-DDTHH:MM:SSZ"
    Column("value", Float, nullable=False),
    Index("ix_sco_local_values_dataset", "dataset_id", "station", "time"),
)


# -- federation (migration 0007) --------------------------------------------------------------
#: Peers: other nodes (hubs, STAC APIs, static catalogs) whose collections this hub pools.
peers = Table(
    "sco_peers",
    metadata,
    Column("name", String(40), primary_key=True),  # the namespace: "<name>:<origin id>"
    Column("url", Text, nullable=False),  # as given (may hold credentials: never shown)
    Column("kind", String(20), nullable=False),  # hub, stac-api or static
    Column("mode", String(20), nullable=False),  # mirror or reference
    Column("created", String(40), nullable=False),
    Column("synced", String(40)),  # when the last sync ended
    Column("status", JSON),  # what the last sync did (per collection), for people
)
