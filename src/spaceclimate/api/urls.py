"""Absolute URLs of the hub as a client sees it."""

from __future__ import annotations

from fastapi import Request

from spaceclimate.services.context import HubContext


def base_url(request: Request, ctx: HubContext) -> str:
    """Return the hub's base URL without a trailing slash (settings win over the request)."""
    if ctx.settings.public_url:
        return ctx.settings.public_url.rstrip("/")
    return str(request.base_url).rstrip("/")
