"""Who may publish: API keys with scopes, the audit log and shared rate limits.

Reads are anonymous; every write (STAC transactions, ``POST /ingest``) needs an API key
(:mod:`.keys`), is counted against the key's and the client address's rate limits
(:mod:`.ratelimit`) and, once it changes the hub, recorded in the audit log (:mod:`.audit`).
All of it lives in the catalog database (or Redis for the counters), so any number of API
workers share it.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

from sqlalchemy import Engine

from spaceclimate.access.audit import Actor, AuditEntry, AuditLog
from spaceclimate.access.keys import ApiKey, KeyStore, Scope, collection_agencies
from spaceclimate.access.ratelimit import RateLimiter, Rule
from spaceclimate.config import Settings
from spaceclimate.db import migrate
from spaceclimate.db.engine import create_db_engine

__all__ = [
    "Access",
    "Actor",
    "ApiKey",
    "AuditEntry",
    "AuditLog",
    "KeyStore",
    "RateLimiter",
    "Rule",
    "Scope",
    "access_for",
    "collection_agencies",
]


class Access:
    """The keys, audit log and rate limiter of the hub described by *settings*."""

    def __init__(self, settings: Settings, engine: Engine | None = None) -> None:
        self.settings = settings
        self._own_engine = engine is None
        self.engine = engine or create_db_engine(settings.resolved_catalog_url)
        migrate.upgrade(self.engine)
        self.keys = KeyStore(self.engine)
        self.audit = AuditLog(self.engine)
        self.limiter = RateLimiter.from_settings(settings, self.engine)

    def close(self) -> None:
        """Release the database connections (when the engine is this object's own)."""
        if self._own_engine:
            self.engine.dispose()


_BY_CONTEXT: weakref.WeakKeyDictionary[Any, Access] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def access_for(ctx: Any) -> Access:
    """Return the one :class:`Access` of an API context (made at first use)."""
    with _LOCK:
        found = _BY_CONTEXT.get(ctx)
        if found is None:
            found = Access(ctx.settings, getattr(ctx.catalog, "engine", None))
            _BY_CONTEXT[ctx] = found
        return found
