"""The OpenAPI description at ``/api``, answered in the media type the client asks for.

Landing pages link the description with ``rel: service-desc`` and its media type,
:data:`OPENAPI_MEDIA_TYPE`; a client that sends that type in ``Accept`` gets the document under
that type, one that asks for ``application/json`` (or anything, or nothing) gets it as JSON,
and one that accepts neither gets a 406 problem. The document is OpenAPI
:data:`OPENAPI_VERSION`: a request naming another version of the OpenAPI media type gets the
document the hub has, under its true version.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from spaceclimate.api.problems import problem

#: The OpenAPI version the hub's description is written in.
OPENAPI_VERSION = "3.1.0"
OPENAPI_TYPE = "application/vnd.oai.openapi+json"
#: The media type of the description: ``rel: service-desc`` links name it.
OPENAPI_MEDIA_TYPE = f"{OPENAPI_TYPE};version={OPENAPI_VERSION.rsplit('.', 1)[0]}"
JSON = "application/json"


def _ranges(accept: str) -> list[tuple[str, float]]:
    """The media ranges of an ``Accept`` header, without parameters, with their quality."""
    out = []
    for part in accept.split(","):
        fields = [f.strip() for f in part.split(";")]
        if not fields[0]:
            continue
        quality = 1.0
        for param in fields[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = max(0.0, min(1.0, float(value)))
                except ValueError:
                    quality = 0.0
        out.append((fields[0].lower(), quality))
    return out


def _quality(media_type: str, ranges: list[tuple[str, float]]) -> tuple[float, int]:
    """The quality the most specific matching range gives *media_type*, and how specific."""
    major = media_type.split("/", 1)[0]
    best = (0.0, -1)
    for media_range, quality in ranges:
        if media_range == media_type:
            specific = 2
        elif media_range == f"{major}/*":
            specific = 1
        elif media_range == "*/*":
            specific = 0
        else:
            continue
        if specific > best[1]:
            best = (quality, specific)
    return best


def negotiate(accept: str | None) -> str | None:
    """Return the media type to answer *accept* with, or None when neither is acceptable.

    Parameters
    ----------
    accept
        The request's ``Accept`` header (None or empty: anything).

    Returns
    -------
    str or None
        :data:`OPENAPI_MEDIA_TYPE` when the OpenAPI type is preferred, ``application/json``
        when JSON is (or both equally), None when neither is acceptable.
    """
    if not accept or not accept.strip():
        return JSON
    ranges = _ranges(accept)
    candidates = [(JSON, JSON), (OPENAPI_TYPE, OPENAPI_MEDIA_TYPE)]
    scored = [(*_quality(kind, ranges), -i, answer) for i, (kind, answer) in enumerate(candidates)]
    quality, _specific, _order, answer = max(scored)
    return answer if quality > 0 else None


def serve_openapi(app: FastAPI) -> None:
    """Answer ``app.openapi_url`` by content negotiation (instead of always as JSON)."""
    path = app.openapi_url
    if not path:
        return

    async def openapi(request: Request) -> JSONResponse:
        media_type = negotiate(request.headers.get("accept"))
        if media_type is None:
            return problem(
                406,
                "Not acceptable",
                f"the OpenAPI description is served as {JSON} or {OPENAPI_MEDIA_TYPE}",
                request.url.path,
            )
        response = JSONResponse(app.openapi(), media_type=media_type)
        response.headers["Vary"] = "Accept"
        return response

    kept: list[BaseRoute] = [
        r for r in app.router.routes if not (isinstance(r, Route) and r.path == path)
    ]
    app.router.routes[:] = kept
    app.add_route(path, openapi, include_in_schema=False)
