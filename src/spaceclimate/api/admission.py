"""Admission control: the hub sheds load it cannot serve in time instead of queueing it.

Two gates stand before the routes of each server process:

- **Requests at once.** At most ``max_active_requests`` requests are served at once; a
  request beyond them waits in a queue of at most ``max_queued_requests`` for at most
  ``queue_timeout`` seconds (a freed slot goes to the newest waiter). A full queue, or a
  wait past the timeout, answers ``503 Service Unavailable`` with ``Retry-After``: the
  latency of the requests admitted stays bounded however many clients come, and a client
  learns at once to come back later.
- **Heavy requests.** Downloads, EDR area and cube queries and synchronous processes read
  and encode whole selections: each may take seconds and hundreds of megabytes. At most
  ``max_heavy_requests`` run at once (503 beyond, not queued), and at most
  ``max_heavy_per_client`` for one client address (429 beyond). Router plugins name their
  heavy routes (:attr:`~spaceclimate.services.routers.RouterPlugin.heavy`). A heavy stream
  pauses between its pieces while light requests are served
  (:meth:`~spaceclimate.services.load.Load.defer_to_light`). When the last heavy request
  ends, the memory it freed is handed back to the system.

Liveness, readiness and metrics are never held back (an orchestrator must see an overloaded
hub as alive). Each refusal is counted in ``sco_requests_shed_total``.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
import re
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import cast

import anyio
from starlette.types import ASGIApp, Receive, Scope, Send

from spaceclimate.api.problems import send_problem
from spaceclimate.ops.metrics import hub_metrics
from spaceclimate.services.load import Load

log = logging.getLogger("spaceclimate.api")

#: Paths served whatever the load (liveness, readiness, metrics).
ALWAYS_SERVED = ("/health", "/ready", "/metrics")


@dataclass(frozen=True)
class AdmissionLimits:
    """The limits of one server process (see the module)."""

    max_active: int
    max_queued: int
    queue_timeout: float
    max_heavy: int
    max_heavy_per_client: int
    retry_after: int = 1
    heavy_retry_after: int = 5


def heavy_pattern(routes: Iterable[tuple[str, str]]) -> re.Pattern[str] | None:
    """Return one pattern matching the paths of heavy routes, given (prefix, pattern) pairs.

    Each pattern is a regular expression of the path below its router's prefix
    (``/[^/]+`` for ``/download/{collection}``); None when no route is heavy.
    """
    parts = [f"(?:{re.escape(prefix)}{pattern})" for prefix, pattern in routes]
    return re.compile("^(?:" + "|".join(parts) + ")$") if parts else None


@cache
def _libc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return cast("Callable[[int], int]", trim)


def give_back_memory() -> None:
    """Return the freed heap of this process to the system (glibc; a no-op elsewhere)."""
    trim = _libc_trim()
    if trim is not None:
        trim(0)


class AdmissionMiddleware:
    """See the module: a bounded queue for all requests, and caps on heavy ones."""

    def __init__(
        self,
        app: ASGIApp,
        limits: AdmissionLimits,
        heavy: re.Pattern[str] | None,
        load: Load,
    ) -> None:
        self.app = app
        self.limits = limits
        self.heavy = heavy
        self.load = load
        self.waiting: deque[asyncio.Future[None]] = deque()
        self.heavy_by_client: dict[str, int] = {}
        self.metrics = hub_metrics()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "") in ALWAYS_SERVED:
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        if self.heavy is not None and self.heavy.match(path):
            await self._heavy(scope, receive, send)
            return
        if not await self._enter():
            self.metrics.shed.labels("busy").inc()
            await send_problem(
                scope,
                send,
                503,
                "Service unavailable",
                f"the hub is serving {self.limits.max_active} requests and "
                f"{self.load.queued} more are waiting; retry in {self.limits.retry_after} s",
                self.limits.retry_after,
            )
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self._leave()

    # -- all requests: a bounded stack of waiters ----------------------------------------------
    async def _enter(self) -> bool:
        """Take a serving slot, waiting in the queue if need be; False when refused."""
        load = self.load
        if load.active < self.limits.max_active and load.queued == 0:
            load.active += 1
            return True
        if load.queued >= self.limits.max_queued:
            return False
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiting.append(turn)
        load.queued += 1
        try:
            await asyncio.wait_for(asyncio.shield(turn), self.limits.queue_timeout)
        except TimeoutError:
            if turn.done():  # handed a slot just as the wait ended: take it
                return True
            turn.cancel()
            return False
        except asyncio.CancelledError:  # the client left while waiting
            if turn.done() and not turn.cancelled():
                self._leave()  # it had been handed a slot: pass the slot on
            else:
                turn.cancel()
            raise
        finally:
            load.queued -= 1
        return True

    def _leave(self) -> None:
        """Hand the slot to the newest live waiter, or free it.

        Newest first: under overload the requests served are those that waited least (the
        older ones reach their timeout and are told to come back), so the latency of what
        is admitted stays low; without overload the queue is short and the order moot.
        """
        while self.waiting:
            turn = self.waiting.pop()
            if not turn.done():
                turn.set_result(None)  # the slot passes on: active stays the same
                return
        self.load.active -= 1

    # -- heavy requests: caps, no queue --------------------------------------------------------
    async def _heavy(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        address = str(client[0]) if client else "unknown"
        limits = self.limits
        load = self.load
        mine = self.heavy_by_client.get(address, 0)
        if mine >= limits.max_heavy_per_client:
            self.metrics.shed.labels("client_heavy").inc()
            await send_problem(
                scope,
                send,
                429,
                "Too many requests",
                f"this address already runs {mine} download or analysis request(s), the most "
                f"one client may run at once; retry when it ends",
                limits.heavy_retry_after,
            )
            return
        if load.heavy_active >= limits.max_heavy:
            self.metrics.shed.labels("heavy").inc()
            await send_problem(
                scope,
                send,
                503,
                "Service unavailable",
                f"the hub runs {load.heavy_active} downloads or analyses, the most it runs at "
                f"once; retry in {limits.heavy_retry_after} s",
                limits.heavy_retry_after,
            )
            return
        load.heavy_active += 1
        self.heavy_by_client[address] = mine + 1
        try:
            await self.app(scope, receive, send)
        finally:
            load.heavy_active -= 1
            left = self.heavy_by_client.get(address, 1) - 1
            if left > 0:
                self.heavy_by_client[address] = left
            else:
                self.heavy_by_client.pop(address, None)
            if load.heavy_active == 0:
                await anyio.to_thread.run_sync(give_back_memory)
