"""The audit log: who (API key) published what (action, collection, item, version, job), when.

Entries of catalog writes are inserted in the same database transaction as the write itself
(:mod:`spaceclimate.publish.transactions`), so the log cannot miss a committed change or
record one that was rolled back. Ingest jobs record their outcome when they end.
"""

from __future__ import annotations

import getpass
import socket
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Engine, insert, select
from sqlalchemy.engine import Connection

from spaceclimate.access.keys import ApiKey
from spaceclimate.clock import now_iso
from spaceclimate.db.schema import audit

#: Actions recorded (``detail`` adds what each needs).
ACTIONS = (
    "collection.create",
    "collection.replace",
    "collection.update",
    "collection.delete",
    "item.create",
    "item.replace",
    "item.update",
    "item.delete",
    "ingest.submit",
    "ingest.publish",
    "ingest.unchanged",
    "ingest.fail",
    "key.create",
    "key.revoke",
    "peer.add",
    "peer.remove",
    "peer.sync",
)


@dataclass(frozen=True)
class Actor:
    """Who makes a change: the API key (None from the command line), address, request id."""

    key_id: str | None = None
    key_name: str | None = None
    client: str | None = None
    request_id: str | None = None

    @classmethod
    def of_key(cls, key: ApiKey, client: str | None, request_id: str | None) -> Actor:
        """The actor of an HTTP request made with *key*."""
        return cls(key.id, key.name, client, request_id)

    @classmethod
    def command_line(cls) -> Actor:
        """The actor of a ``sco`` command: ``cli:user@host``."""
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = "unknown"
        return cls(None, "command line", f"cli:{user}@{socket.gethostname()}", None)


@dataclass(frozen=True)
class AuditEntry:
    """One change: *action* by *actor* on a collection (item, version, job)."""

    action: str
    actor: Actor
    collection_id: str | None = None
    item_id: str | None = None
    version: int | None = None
    job_id: str | None = None
    detail: dict[str, Any] | None = None

    def row(self) -> dict[str, Any]:
        """Return the table row of the entry (stamped now)."""
        assert self.action in ACTIONS, self.action
        return {
            "time": now_iso(),
            "action": self.action,
            **asdict(self.actor),
            "collection_id": self.collection_id,
            "item_id": self.item_id,
            "version": self.version,
            "job_id": self.job_id,
            "detail": self.detail,
        }


class AuditLog:
    """Record and list audit entries in the catalog database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(self, *entries: AuditEntry, conn: Connection | None = None) -> None:
        """Insert *entries* (in the transaction of *conn* when given)."""
        if not entries:
            return
        rows = [e.row() for e in entries]
        if conn is not None:
            conn.execute(insert(audit), rows)
            return
        with self.engine.begin() as own:
            own.execute(insert(audit), rows)

    def list_entries(
        self,
        collection_id: str | None = None,
        key_id: str | None = None,
        action: str | None = None,
        job_id: str | None = None,
        since: str | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Return entries, newest first, filtered by collection, key, action, job and time."""
        query = select(audit).order_by(audit.c.id.desc()).limit(limit)
        if collection_id:
            query = query.where(audit.c.collection_id == collection_id)
        if key_id:
            query = query.where(audit.c.key_id == key_id)
        if action:
            query = query.where(audit.c.action == action)
        if job_id:
            query = query.where(audit.c.job_id == job_id)
        if since:
            query = query.where(audit.c.time >= since)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]
