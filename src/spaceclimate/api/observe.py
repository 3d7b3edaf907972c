"""The outermost middleware: request ids, rate limits by address, metrics and access logs.

For every HTTP request it

- takes the client's ``X-Request-ID`` (1-128 letters, digits, ``.-_:``) or makes one, and
  echoes it on the answer; log lines written while serving carry it;
- counts the request against the client address's limit (writes: publishing routes;
  reads: everything else, when ``SCO_RATE_LIMIT_READS`` is set), answering 429 with
  ``Retry-After`` when over (the per-key limit is checked with the key, on write routes);
- records the request in the metrics (by route template, not by path) and, with JSON logs,
  writes one access line: method, path, route, status, duration_ms, bytes, request_id,
  client and key_id.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

import anyio
from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from spaceclimate.access import access_for
from spaceclimate.access.ratelimit import RateLimiter, Rule
from spaceclimate.api.problems import send_problem
from spaceclimate.ops.logs import ACCESS_LOGGER, REQUEST_ID
from spaceclimate.ops.metrics import hub_metrics, process_started, process_stopped

access_log = logging.getLogger(ACCESS_LOGGER)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
#: Route label of requests answered before routing (rate-limited, refused by size).
UNROUTED = "(unrouted)"
#: Paths whose POST/PUT/PATCH/DELETE publish (the write rate limit applies).
WRITE_PATHS = ("/stac/collections", "/ingest")
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def is_write(method: str, path: str) -> bool:
    """Whether a request publishes (STAC transactions, ingest)."""
    return method in WRITE_METHODS and any(
        path == p or path.startswith(p + "/") for p in WRITE_PATHS
    )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def route_template(scope: Scope) -> str:
    """Return the template of the route that answered (``/stac/collections/{collection_id}``).

    The matched route may be the one of a router included under a prefix, whose own path
    lacks the prefix: the prefix is what of the request's path precedes the route's path
    filled with the request's path parameters.
    """
    route = scope.get("route")
    if route is None:
        return UNROUTED
    suffix = str(getattr(route, "path_format", None) or getattr(route, "path", ""))
    filled = suffix
    for name, value in (scope.get("path_params") or {}).items():
        filled = filled.replace("{" + str(name) + "}", str(value))  # path_format: {name}
    path = str(scope.get("path", ""))
    if path.endswith(filled):
        return path[: len(path) - len(filled)] + suffix
    return suffix or UNROUTED


class ObserveMiddleware:
    """See the module: ids, address rate limits, metrics, access log."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter, json_logs: bool) -> None:
        self.app = app
        self.limiter = limiter
        self.json_logs = json_logs
        self.metrics = hub_metrics()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, self._lifespan(send))
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        given = _header(scope, b"x-request-id")
        request_id = given if given and _REQUEST_ID.match(given) else uuid.uuid4().hex
        REQUEST_ID.set(request_id)
        state = scope.setdefault("state", {})
        state["sco_request_id"] = request_id
        answer: dict[str, Any] = {"status": 500, "bytes": 0}

        async def observed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = int(message["status"])
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            elif message["type"] == "http.response.body":
                answer["bytes"] += len(message.get("body", b""))
            await send(message)

        try:
            kind = "write" if is_write(scope["method"], scope.get("path", "")) else "read"
            rule = self.limiter.writes if kind == "write" else self.limiter.reads
            wait = await self._check(scope, kind, rule)
            if wait is not None and rule is not None:
                self.metrics.rate_limited.labels(kind).inc()
                await _too_many(scope, observed_send, kind, rule, wait)
            else:
                await self.app(scope, receive, observed_send)
        finally:
            self._record(scope, state, answer, time.perf_counter() - start, request_id)

    def _lifespan(self, send: Send) -> Send:
        """Count this worker among the live ones from start-up to shut-down."""

        async def lifespan_send(message: Message) -> None:
            if message["type"] == "lifespan.startup.complete":
                process_started()
            elif message["type"] == "lifespan.shutdown.complete":
                process_stopped()
            await send(message)

        return lifespan_send

    async def _check(self, scope: Scope, kind: str, rule: Rule | None) -> int | None:
        if rule is None:
            return None
        client = scope.get("client")
        address = client[0] if client else "unknown"
        bucket = f"{kind}:addr:{address}"
        return await anyio.to_thread.run_sync(self.limiter.check, bucket, rule)

    def _record(
        self,
        scope: Scope,
        state: dict[str, Any],
        answer: dict[str, Any],
        seconds: float,
        request_id: str,
    ) -> None:
        template = route_template(scope)
        method, status = scope["method"], answer["status"]
        self.metrics.requests.labels(method, template, str(status)).inc()
        self.metrics.latency.labels(method, template).observe(seconds)
        self.metrics.response_bytes.labels(template).inc(answer["bytes"])
        if not self.json_logs:
            return
        client = scope.get("client")
        fields: dict[str, Any] = {
            "method": method,
            "path": scope.get("path", ""),
            "route": template,
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "bytes": answer["bytes"],
            "request_id": request_id,
            "client": client[0] if client else None,
        }
        if state.get("sco_key_id"):
            fields["key_id"] = state["sco_key_id"]
        access_log.info("%s %s %s", method, fields["path"], status, extra={"sco": fields})


async def _too_many(scope: Scope, send: Send, kind: str, rule: Rule, wait: int) -> None:
    detail = f"this address made more than {rule.text} {kind}s; retry in {wait} s"
    await send_problem(scope, send, 429, "Too many requests", detail, wait)


def install_observability(app: FastAPI, ctx: Any) -> None:
    """Add the middleware to *app* (call last: it must be the outermost)."""
    limiter = access_for(ctx).limiter
    app.add_middleware(
        ObserveMiddleware, limiter=limiter, json_logs=ctx.settings.log_format == "json"
    )
