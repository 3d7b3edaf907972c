"""Migration environment: runs the catalog's migrations on a given connection.

The hub runs them through :func:`spaceclimate.db.migrate.upgrade`, which passes an open
connection in ``config.attributes["connection"]``; with none, the URL comes from the
``sqlalchemy.url`` option (for the ``alembic`` command itself).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from spaceclimate.db import schema
from spaceclimate.db.engine import create_db_engine
from spaceclimate.db.migrate import VERSION_TABLE


def _is_hub_table(name: str | None, kind: str, _parent: object) -> bool:
    """Autogenerate compares the hub's own tables only (others may share the database)."""
    return kind != "table" or name in schema.metadata.tables


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=schema.metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
        include_name=_is_hub_table,
    )
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    """Run the migrations online (offline SQL scripts are not supported: they inspect)."""
    if context.is_offline_mode():
        raise SystemExit("the catalog migrations inspect the database; run them online")
    config = context.config
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_db_engine(str(config.get_main_option("sqlalchemy.url")))
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


run()
