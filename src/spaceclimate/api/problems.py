"""Errors as RFC 9457 problem details, everywhere, and the request limits.

Every :class:`~spaceclimate.errors.SCOError` becomes a ``application/problem+json`` response
with the error's status; FastAPI's parameter validation becomes a 400 naming the parameter;
unknown routes and methods keep their 404/405 but as problems; anything unexpected is a 500
problem (and a bug). Query strings and request bodies are bounded before a route runs.
"""

from __future__ import annotations

import json
import logging
from fnmatch import fnmatchcase
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from spaceclimate.errors import SCOError

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("spaceclimate.api")


_PROBLEM_SCHEMA = {
    "type": "object",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
    },
    "required": ["title", "status", "detail"],
}


def problem_response(description: str, header: str | None = None) -> dict[str, Any]:
    """Return the OpenAPI description of a problem answer (with a documented *header*)."""
    doc: dict[str, Any] = {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": _PROBLEM_SCHEMA}},
    }
    if header:
        doc["headers"] = {header: {"schema": {"type": "string"}}}
    return doc


#: Error answers every route may give, documented once in the OpenAPI description.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: problem_response("Malformed parameter (the detail names it)"),
    404: problem_response("No such collection, item, variable, job or path"),
    409: problem_response("Conflicts with the hub's state"),
    413: problem_response("Request too large (the estimate is in the body)"),
    414: problem_response("Query string too long"),
    429: problem_response(
        "Too many requests (rate limit, or this client's downloads and analyses at once); "
        "Retry-After tells when to retry",
        "Retry-After",
    ),
    503: problem_response(
        "The hub is at its limit and sheds load (admission control); Retry-After tells when "
        "to retry",
        "Retry-After",
    ),
}


def problem(status: int, title: str, detail: str, instance: str = "", **extra: Any) -> JSONResponse:
    """Return an RFC 9457 problem details response."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    body["detail"] = detail
    if instance:
        body["instance"] = instance
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def _param_name(loc: Any, kind: str = "") -> str:
    """Name the parameter of a validation error from its location (``("query", "bbox")``)."""
    parts = [str(p) for p in loc]
    if kind == "json_invalid":
        return "request body"
    if parts and parts[0] in ("query", "path", "body", "header", "cookie"):
        parts = parts[1:]
    return ".".join(parts) or "request body"


async def _sco_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SCOError)
    response = problem(exc.status, exc.title, exc.message, request.url.path, **exc.details)
    response.headers.update(exc.headers)
    return response


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
    name = _param_name(first.get("loc", ()), str(first.get("type", "")))
    detail = f"parameter {name!r}: {first.get('msg', 'invalid')}"
    invalid = [
        {
            "name": _param_name(e.get("loc", ()), str(e.get("type", ""))),
            "reason": str(e.get("msg", "")),
        }
        for e in errors
    ]
    return problem(400, "Bad request", detail, request.url.path, invalid_params=invalid)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "HTTP error")
    detail = str(exc.detail)
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"no such path: {request.url.path}"
    response = problem(exc.status_code, title, detail, request.url.path)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s", request.url.path, exc_info=exc)
    return problem(500, "Internal error", f"unexpected {type(exc).__name__}", request.url.path)


def install_error_handlers(app: FastAPI) -> None:
    """Map every error to problem+json."""
    app.add_exception_handler(SCOError, _sco_error)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)


class LimitsMiddleware:
    """Refuse over-long query strings (414) and over-large request bodies (413) up front.

    *upload_paths* (file uploads, such as ``/ingest``; shell-style patterns, such as
    ``/territories/*/data``) take bodies up to *max_upload* bytes.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_query: int,
        max_body: int,
        upload_paths: tuple[str, ...] = (),
        max_upload: int = 0,
    ) -> None:
        self.app = app
        self.max_query = max_query
        self.max_body = max_body
        self.upload_paths = upload_paths
        self.max_upload = max_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"")
        if len(query) > self.max_query:
            await send_problem(
                scope,
                send,
                414,
                "URI too long",
                f"query string of {len(query)} bytes is over the limit of {self.max_query}",
            )
            return
        max_body = self.max_body
        path = scope.get("path", "")
        if any(fnmatchcase(path, pattern) for pattern in self.upload_paths):
            max_body = max(self.max_upload, max_body)
        headers = dict(scope.get("headers", []))
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > max_body:
            await send_problem(
                scope,
                send,
                413,
                "Request too large",
                f"request body of {int(length)} bytes is over the limit of {max_body}",
            )
            return
        received = 0

        async def bounded() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_body:
                    raise _BodyTooLarge()
            return message

        try:
            await self.app(scope, bounded, send)
        except _BodyTooLarge:
            await send_problem(
                scope,
                send,
                413,
                "Request too large",
                f"request body is over the limit of {max_body} bytes",
            )


async def send_problem(
    scope: Scope,
    send: Send,
    status: int,
    title: str,
    detail: str,
    retry_after: int | None = None,
) -> None:
    """Answer a problem document straight from ASGI middleware (before any route runs).

    With *retry_after*, the answer carries ``Retry-After`` and the body ``retry_after``.
    """
    doc: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": scope.get("path", ""),
    }
    headers = [(b"content-type", PROBLEM_JSON.encode())]
    if retry_after is not None:
        doc["retry_after"] = retry_after
        headers.append((b"retry-after", str(retry_after).encode()))
    body = json.dumps(doc).encode()
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _BodyTooLarge(Exception):
    pass
