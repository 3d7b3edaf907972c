"""Tables of the SQL catalog (SQLAlchemy Core), shared by every SQL dialect."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
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
