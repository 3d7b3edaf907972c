"""Absolute URLs of the hub as a client sees it.

Links come from ``SCO_PUBLIC_URL`` when it is set, else from the request: its ``Host`` has
been checked by :class:`~spaceclimate.api.hosts.HostGuardMiddleware` (an untrusted one was
replaced by the hub's own address), so no client can make the hub link elsewhere.
"""

from __future__ import annotations

from fastapi import Request

from spaceclimate.services.context import HubContext


def base_url(request: Request, ctx: HubContext) -> str:
    """Return the hub's base URL without a trailing slash (settings win over the request)."""
    if ctx.settings.public_url:
        return ctx.settings.public_url.rstrip("/")
    return str(request.base_url).rstrip("/")


def request_href(request: Request, ctx: HubContext) -> str:
    """Return the URL of *request* itself (path and query) under :func:`base_url`."""
    href = f"{base_url(request, ctx)}{request.url.path}"
    return f"{href}?{request.url.query}" if request.url.query else href
