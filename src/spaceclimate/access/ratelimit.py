"""Rate limits shared by every API worker: counters per bucket and fixed time window.

A bucket is what is limited: ``write:key:<id>`` (an API key), ``write:addr:<ip>`` and
``read:addr:<ip>`` (a client address). Counters live in Redis when ``SCO_REDIS_URL`` is set,
else in the catalog database (table ``sco_rate_limits``), so that N workers behind a load
balancer enforce one limit, not N. A counter store that fails lets the request through (and
logs why): an outage of the counters must not become an outage of the hub.
"""

from __future__ import annotations

import hashlib
import logging
import math
import random
import re
import time
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Engine, delete
from sqlalchemy.dialects import postgresql, sqlite

from spaceclimate.db.schema import rate_limits
from spaceclimate.errors import InputError

log = logging.getLogger("spaceclimate.ratelimit")

PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_RULE = re.compile(r"^\s*(\d+)\s*/\s*(second|minute|hour|day)\s*$")
#: One hit in this many also deletes expired counters (database store).
CLEANUP_EVERY = 200


@dataclass(frozen=True)
class Rule:
    """At most *limit* requests every *period* seconds."""

    limit: int
    period: int
    text: str

    @classmethod
    def parse(cls, text: str) -> Rule | None:
        """Read ``N/minute`` (second, hour, day); None for ``off`` or ``0``."""
        if text.strip().lower() in ("off", "0", ""):
            return None
        match = _RULE.match(text)
        if match is None:
            raise ValueError(f"rate limit {text!r}: expected N/second|minute|hour|day or off")
        limit, unit = int(match.group(1)), match.group(2)
        if limit == 0:
            return None
        return cls(limit, PERIODS[unit], f"{limit}/{unit}")


class CounterStore(Protocol):
    """Counts hits of a bucket in a window."""

    def hit(self, bucket: str, window_start: int, period: int) -> int:
        """Count one hit; return the bucket's hits in the window so far."""
        ...


class SQLCounterStore:
    """Counters in the catalog database (one upsert a hit)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        dialect = engine.dialect.name
        self._insert = postgresql.insert if dialect == "postgresql" else sqlite.insert

    def hit(self, bucket: str, window_start: int, period: int) -> int:
        """Count one hit with an atomic upsert; return the window's count."""
        table = rate_limits
        upsert = (
            self._insert(table)
            .values(bucket=bucket, window_start=window_start, hits=1, expires=window_start + period)
            .on_conflict_do_update(
                index_elements=[table.c.bucket, table.c.window_start],
                set_={"hits": table.c.hits + 1},
            )
        )
        stmt = upsert.returning(table.c.hits)
        with self.engine.begin() as conn:
            hits = int(conn.execute(stmt).scalar_one())
            if random.randrange(CLEANUP_EVERY) == 0:
                conn.execute(delete(table).where(table.c.expires < time.time() - 1))
        return hits


class RedisCounterStore:
    """Counters in Redis (INCR and EXPIRE in one round trip)."""

    def __init__(self, url: str, namespace: str) -> None:
        try:
            import redis
        except ImportError as exc:
            raise InputError(
                "SCO_REDIS_URL is set but the redis package is missing: "
                "pip install 'spaceclimate[redis]'"
            ) from exc
        self.client: Any = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.prefix = f"sco:rl:{namespace}:"

    def hit(self, bucket: str, window_start: int, period: int) -> int:
        """Count one hit; the key expires with its window."""
        key = f"{self.prefix}{bucket}:{window_start}"
        pipe = self.client.pipeline()
        pipe.incr(key)
        pipe.expire(key, period + 1)
        hits, _ = pipe.execute()
        return int(hits)


class RateLimiter:
    """Checks buckets against the configured rules (writes, reads)."""

    def __init__(
        self,
        writes: Rule | None,
        reads: Rule | None,
        store: CounterStore,
    ) -> None:
        self.writes = writes
        self.reads = reads
        self.store = store

    @classmethod
    def from_settings(cls, settings: Any, engine: Engine) -> RateLimiter:
        """Build the limiter of a hub: Redis when configured, else the catalog database."""
        store: CounterStore
        if settings.redis_url:
            namespace = hashlib.sha256(settings.resolved_catalog_url.encode()).hexdigest()[:12]
            store = RedisCounterStore(settings.redis_url, namespace)
        else:
            store = SQLCounterStore(engine)
        return cls(
            Rule.parse(settings.rate_limit_writes), Rule.parse(settings.rate_limit_reads), store
        )

    def check(self, bucket: str, rule: Rule | None, now: float | None = None) -> int | None:
        """Count a hit of *bucket*; return seconds to wait when over *rule*, else None."""
        if rule is None:
            return None
        now = time.time() if now is None else now
        window_start = int(now // rule.period) * rule.period
        try:
            hits = self.store.hit(bucket, window_start, rule.period)
        except Exception as exc:  # noqa: BLE001 - counters down: let the request through
            log.warning("rate-limit counters unavailable (%s: %s)", type(exc).__name__, exc)
            return None
        if hits <= rule.limit:
            return None
        return max(1, math.ceil(window_start + rule.period - now))
