"""API keys on write routes: the ``Authorization: Bearer`` dependency and its documentation.

Reads are anonymous (jobs excepted: :mod:`spaceclimate.api.jobaccess`). A write route
depends on :func:`key_dependency`: no key or an unknown, malformed or revoked one answers 401
(with ``WWW-Authenticate``); a key over its rate limit 429 (with ``Retry-After``); the route
itself answers 403 when the key's scopes do not cover what it would change. Each check
happens before anything is written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import ASGIApp, Receive, Scope, Send

from spaceclimate.access import Actor, ApiKey, access_for
from spaceclimate.api.problems import problem_response
from spaceclimate.errors import ForbiddenError, RateLimitedError, UnauthorizedError
from spaceclimate.viewer import ANONYMOUS, Viewer, viewing

BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="apiKey",
    bearerFormat="sco_<id>_<secret>",
    description="API key (`sco keys create`), sent as `Authorization: Bearer <token>`. Needed "
    "for writes; reads are anonymous. A job belongs to the key that submitted it.",
)

#: Answers of every write route besides the common problems.
WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: problem_response("No API key, or an unknown or revoked one", "WWW-Authenticate"),
    403: problem_response("The API key's scopes do not cover this change"),
    429: problem_response("Too many writes from this key or address", "Retry-After"),
}


def client_address(request: Request) -> str:
    """Return the client's address (as the server saw it, after trusted proxy headers)."""
    return request.client.host if request.client else "unknown"


def actor_of(request: Request, key: ApiKey) -> Actor:
    """Return who makes a write: the key, the client address and the request id."""
    request_id = getattr(request.state, "sco_request_id", None)
    return Actor.of_key(key, client_address(request), request_id)


def key_dependency(ctx: Any, count_writes: bool = True) -> Callable[..., ApiKey]:
    """Return the dependency that yields the request's API key (401/429 otherwise).

    With *count_writes*, the request counts against the key's write rate limit.
    """
    access = access_for(ctx)

    def require_key(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Security(BEARER),
    ) -> ApiKey:
        if credentials is None:
            raise UnauthorizedError(
                "this operation publishes: it needs an API key, sent as "
                "'Authorization: Bearer <token>' (keys are made with 'sco keys create')"
            )
        key = access.keys.verify(credentials.credentials)
        if key is None:
            raise UnauthorizedError("the API key is malformed, unknown or revoked")
        request.state.sco_key_id = key.id
        rule = access.limiter.writes if count_writes else None
        wait = access.limiter.check(f"write:key:{key.id}", rule)
        if wait is not None and rule is not None:
            raise RateLimitedError(
                f"key {key.id} made more than {rule.text} writes; retry in {wait} s",
                retry_after=wait,
            )
        return key

    return require_key


def optional_key_dependency(ctx: Any) -> Callable[..., ApiKey | None]:
    """Return the dependency that yields the request's API key, or None when it sends none.

    A key that is sent must be valid (401 otherwise): a client that means to act as its key
    is never silently served as an anonymous one. The request counts against no limit.
    """
    access = access_for(ctx)

    def optional_key(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Security(BEARER),
    ) -> ApiKey | None:
        if credentials is None:
            return None
        key = access.keys.verify(credentials.credentials)
        if key is None:
            raise UnauthorizedError("the API key is malformed, unknown or revoked")
        request.state.sco_key_id = key.id
        return key

    return optional_key


def admin_dependency(ctx: Any) -> Callable[..., ApiKey]:
    """Return the dependency that yields an admin key (401/403/429 otherwise)."""
    require_key = key_dependency(ctx, count_writes=False)

    def require_admin(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Security(BEARER),
    ) -> ApiKey:
        key = require_key(request, credentials)
        if not key.is_admin:
            raise ForbiddenError(f"{key.label()} is not an admin key")
        return key

    return require_admin


class ViewerMiddleware:
    """Set each request's viewer from its API key (anonymous without a valid one).

    Private derived collections are then seen only by their key and admin keys in every API
    (:mod:`spaceclimate.viewer`); a route that needs a key still checks it and answers 401.
    """

    def __init__(self, app: ASGIApp, ctx: Any) -> None:
        self.app = app
        self.ctx = ctx

    def _viewer(self, token: str) -> Viewer:
        key = access_for(self.ctx).keys.verify(token)
        return ANONYMOUS if key is None else Viewer(f"key:{key.id}", key.is_admin)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        viewer = ANONYMOUS
        for name, value in scope.get("headers", []):
            if name == b"authorization" and value[:7].lower() == b"bearer ":
                token = value[7:].decode("latin-1").strip()
                viewer = await anyio.to_thread.run_sync(self._viewer, token)
                break
        with viewing(viewer):
            await self.app(scope, receive, send)
