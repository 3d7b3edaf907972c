"""The hub's database: engines, tables and migrations, shared by everything that stores rows.

The catalog (:mod:`spaceclimate.catalog`), the API keys, audit log and rate limits
(:mod:`spaceclimate.access`), the job queue (:mod:`spaceclimate.jobs`) and the metrics
(:mod:`spaceclimate.ops`) all keep their rows in one database: SQLite under ``SCO_HOME`` by
default, PostgreSQL at scale. This package knows nothing of them beyond their tables:

- :mod:`.engine`: database URLs, connection pools, SQLite settings;
- :mod:`.schema`: every table (SQLAlchemy Core);
- :mod:`.migrate` and ``migrations/``: the schema's revisions, applied when a store opens.
"""

from __future__ import annotations
