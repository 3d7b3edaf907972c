"""Zarr over HTTP: the files of published cubes, so ``xarray.open_zarr(url)`` works remotely.

``/zarr/{cid}/...`` serves the latest published cube of a collection (a Zarr v3 directory
store whose root ``zarr.json`` holds consolidated metadata), ``/zarr/{cid}/v{N}/...`` version
*N*. A client opens ``xr.open_zarr("<hub>/zarr/<cid>")`` and reads chunks lazily; a chunk that
was never written (all fill value) answers 404, which Zarr reads as "missing chunk".

Cubes are immutable, so versioned URLs are cached for a year; the latest alias changes when a
new version is published, so it is cached briefly. Every file has a strong ETag (answered 304
on ``If-None-Match``), HEAD is supported, and single or multiple byte ranges are served.

Per request the module does no catalog query while its short-lived cache of
``collection -> cube href`` is fresh (versions are cached for good: they never change).
Paths are checked segment by segment (no ``..``, ``.``, empty or absolute segments) and none
may be a symbolic link (404); a cube reached through a link is refused whole
(:class:`spaceclimate.store.links.LinkGuard`).

Cubes in an object store (``SCO_STORE_URL``) are served the same way, streamed from their
objects in blocks (one ranged read a block); a single byte range is answered 206, several
ranges with the whole object (200), as HTTP allows.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse

from spaceclimate.api.urls import base_url, request_href
from spaceclimate.catalog.records import cube_href, has_cube
from spaceclimate.errors import InputError, NotFoundError
from spaceclimate.services.context import HubContext
from spaceclimate.services.deps import Context
from spaceclimate.services.routers import RouterPlugin
from spaceclimate.store.remote import ObjectPath
from spaceclimate.viewer import current_viewer

#: Seconds a resolved ``collection -> latest cube`` mapping is trusted.
LATEST_TTL_SECONDS = 5.0
#: ``Cache-Control`` of the latest alias (a new version may be published at any time).
LATEST_CACHE_CONTROL = "public, max-age=60"
#: ``Cache-Control`` of a versioned URL (published versions never change).
VERSIONED_CACHE_CONTROL = "public, max-age=31536000, immutable"
JSON_TYPE = "application/json"
CHUNK_TYPE = "application/octet-stream"
VERSION_SEGMENT = re.compile(r"^v([0-9]{1,9})$")
MAX_CACHED_VERSIONS = 4096
#: Bytes read from an object store at a time while streaming one of its objects.
STREAM_BLOCK = 1 << 20
RANGE_SPEC = re.compile(r"^bytes=(\d*)-(\d*)$")


class CubeResolver:
    """Map collection ids (and versions) to cube hrefs with few catalog queries.

    The latest href of a collection is remembered for :data:`LATEST_TTL_SECONDS`; the href
    of a given version forever (published versions are immutable).
    """

    def __init__(self, ctx: HubContext, ttl: float = LATEST_TTL_SECONDS) -> None:
        self.ctx = ctx
        self.ttl = ttl
        self._latest: dict[str, tuple[float, str, int]] = {}
        self._versions: dict[tuple[str, int], str] = {}
        self._owners: dict[str, str | None] = {}  # private collections: their key
        self._lock = threading.Lock()

    def latest(self, collection_id: str) -> tuple[str, int]:
        """Return ``(href, version)`` of the latest cube; NotFoundError naming known ids.

        A hit the current viewer may not see is checked again in the catalog (a private
        collection stays hidden; one published since is served).
        """
        now = time.monotonic()
        with self._lock:
            hit = self._latest.get(collection_id)
            owner = self._owners.get(collection_id)
        if hit is not None and hit[0] > now and current_viewer().sees(owner):
            return hit[1], hit[2]
        doc = self.ctx.collection(collection_id)
        href = cube_href(doc)
        version = int(doc.get("sco:version", 0))
        with self._lock:
            self._latest[collection_id] = (now + self.ttl, href, version)
            self._owners[collection_id] = doc.get("sco:owner")
        return href, version

    def version(self, collection_id: str, version: int) -> str:
        """Return the href of *version*; NotFoundError naming the known versions."""
        key = (collection_id, version)
        with self._lock:
            href = self._versions.get(key)
            owner = self._owners.get(collection_id)
        if href is not None and current_viewer().sees(owner):
            return href
        doc = self.ctx.collection(collection_id)  # 404 naming known collections
        with self._lock:
            self._owners[collection_id] = doc.get("sco:owner")
        records = self.ctx.catalog.versions(collection_id)
        with self._lock:
            if len(self._versions) > MAX_CACHED_VERSIONS:
                self._versions.clear()
            for rec in records:
                self._versions[(collection_id, rec.version)] = rec.cube_href
            href = self._versions.get(key)
        if href is None:
            known = ", ".join(f"v{r.version}" for r in records)
            raise NotFoundError(
                f"collection {collection_id!r} has no version v{version}; known: {known}"
            )
        return href


def check_relative_path(path: str) -> list[str]:
    """Return the segments of a path inside a cube; InputError for traversal attempts."""
    if "\\" in path or "\x00" in path:
        raise InputError("parameter 'path': backslashes and NUL bytes are not allowed")
    if path.startswith("/"):
        raise InputError("parameter 'path': must be relative to the cube root")
    parts = path.split("/")
    if any(p in (".", "..") for p in parts):
        raise InputError("parameter 'path': '.' and '..' segments are not allowed")
    if any(p == "" for p in parts):
        raise NotFoundError(f"no file {path!r} in this cube (empty path segment)")
    return parts


def resolve_file(cube: Path, path: str) -> Path:
    """Return the file *path* names inside *cube*; NotFoundError when absent or outside.

    No symbolic link is followed: a path passing through one (or naming one) is not a file
    of the cube.
    """
    parts = check_relative_path(path)
    candidate = cube
    for part in parts:
        candidate = candidate / part
        if candidate.is_symlink():
            raise NotFoundError(f"no file {path!r} in this cube")
    root = cube.resolve()
    if not candidate.resolve().is_relative_to(root) or not candidate.is_file():
        raise NotFoundError(f"no file {path!r} in this cube")
    return candidate


def etag_of(href: str, relpath: str, size: int) -> str:
    """Return a strong ETag for one file of an immutable cube."""
    digest = hashlib.sha1(f"{href}\0{relpath}".encode(), usedforsecurity=False).hexdigest()
    return f'"{digest[:24]}-{size:x}"'


def _not_modified(request: Request, etag: str) -> bool:
    header = request.headers.get("if-none-match")
    if not header:
        return False
    tags = {t.strip().removeprefix("W/") for t in header.split(",")}
    return "*" in tags or etag in tags


def serve_file(
    request: Request, ctx: HubContext, href: str, path: str, cache_control: str
) -> Response:
    """Answer a request for one file of the cube *href* (GET or HEAD, ranges, 304)."""
    cube = ctx.store.files_path(href)  # each file's path is checked for links below
    if isinstance(cube, ObjectPath):
        return serve_object(request, cube, href, path, cache_control)
    file = resolve_file(cube, path)
    relpath = "/".join(check_relative_path(path))
    size = file.stat().st_size
    etag = etag_of(href, relpath, size)
    headers = {"Cache-Control": cache_control, "ETag": etag}
    if _not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    media = JSON_TYPE if file.name == "zarr.json" else CHUNK_TYPE
    return FileResponse(file, media_type=media, headers=headers)


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """Return ``(start, stop)`` of a single-range ``Range`` header, None to send everything.

    Several ranges, or a header that is not a byte range, are answered with the whole object
    (HTTP allows a server to ignore ``Range``); a range wholly past the end is refused (416).
    """
    match = RANGE_SPEC.match((header or "").replace(" ", ""))
    if match is None:
        return None
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":  # the last N bytes
        if int(last) == 0:
            raise RangeNotSatisfiable(size)
        start, stop = max(0, size - int(last)), size
    else:
        start = int(first)
        if last != "" and int(last) < start:
            return None  # not a valid range: ignored
        stop = size if last == "" else min(size, int(last) + 1)
    if start >= size:
        raise RangeNotSatisfiable(size)
    return start, stop


class RangeNotSatisfiable(Exception):
    """A ``Range`` lies wholly past the end of the object."""

    def __init__(self, size: int) -> None:
        super().__init__(f"range past the end of {size} bytes")
        self.size = size


def _blocks(obj: ObjectPath, start: int, stop: int) -> Iterator[bytes]:
    for offset in range(start, stop, STREAM_BLOCK):
        yield obj.read_range(offset, min(stop, offset + STREAM_BLOCK))


def serve_object(
    request: Request, cube: ObjectPath, href: str, path: str, cache_control: str
) -> Response:
    """Answer a request for one object of a cube in an object store (as :func:`serve_file`)."""
    parts = check_relative_path(path)
    relpath = "/".join(parts)
    obj = cube.joinpath(*parts)
    info = obj.info()
    if info is None or info.get("type") != "file":
        raise NotFoundError(f"no file {path!r} in this cube")
    size = int(info["size"])
    etag = etag_of(href, relpath, size)
    headers = {"Cache-Control": cache_control, "ETag": etag, "Accept-Ranges": "bytes"}
    if _not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    media = JSON_TYPE if parts[-1] == "zarr.json" else CHUNK_TYPE
    if_range = request.headers.get("if-range")
    try:
        span = (
            None if if_range not in (None, etag) else byte_range(request.headers.get("range"), size)
        )
    except RangeNotSatisfiable:
        headers["Content-Range"] = f"bytes */{size}"
        return Response(status_code=416, headers=headers)
    start, stop = span if span is not None else (0, size)
    headers["Content-Length"] = str(stop - start)
    status = 200
    if span is not None:
        status = 206
        headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers, media_type=media)
    return StreamingResponse(
        _blocks(obj, start, stop), status_code=status, media_type=media, headers=headers
    )


def _describe(
    request: Request, ctx: HubContext, cid: str, href: str, version: int, versioned: bool
) -> dict[str, Any]:
    base = f"{base_url(request, ctx)}/zarr/{cid}"
    root = f"{base}/v{version}" if versioned else base
    return {
        "collection": cid,
        "version": version,
        "zarr_format": 3,
        "consolidated": True,
        "href": root,
        "usage": f'xarray.open_zarr("{root}")',
        "links": [
            {"rel": "self", "href": request_href(request, ctx), "type": JSON_TYPE},
            {"rel": "metadata", "href": f"{root}/zarr.json", "type": JSON_TYPE},
            {"rel": "latest-version", "href": base, "type": JSON_TYPE},
            {"rel": "version", "href": f"{base}/v{version}", "type": JSON_TYPE},
            {
                "rel": "collection",
                "href": f"{base_url(request, ctx)}/stac/collections/{cid}",
                "type": JSON_TYPE,
            },
        ],
    }


def build(ctx: HubContext) -> APIRouter:
    """Return the Zarr-over-HTTP router."""
    router = APIRouter()
    resolver = CubeResolver(ctx)

    @router.get("/", summary="Cubes served as Zarr", operation_id="zarrIndex")
    def index(request: Request, *, ctx: Context) -> dict[str, Any]:
        """List every collection whose latest cube is served, with its Zarr root URL."""
        base = base_url(request, ctx)
        cubes = [
            {
                "collection": c["id"],
                "version": c.get("sco:version"),
                "href": f"{base}/zarr/{c['id']}",
            }
            for c in ctx.catalog.list_collections()
            if has_cube(c)
        ]
        return {"cubes": cubes, "links": [{"rel": "self", "href": f"{base}/zarr/"}]}

    def root(request: Request, cid: str, *, ctx: Context) -> dict[str, Any]:
        """Describe the latest cube of *cid* and how to open it."""
        href, version = resolver.latest(cid)
        return _describe(request, ctx, cid, href, version, versioned=False)

    def file(request: Request, cid: str, path: str, *, ctx: Context) -> Response:
        """Serve ``zarr.json`` or a chunk of the latest cube, or of version ``v{N}/...``."""
        head, _, rest = path.partition("/")
        match = VERSION_SEGMENT.match(head)
        if match is not None:
            version = int(match.group(1))
            href = resolver.version(cid, version)
            if rest == "":
                return JSONResponse(_describe(request, ctx, cid, href, version, versioned=True))
            return serve_file(request, ctx, href, rest, VERSIONED_CACHE_CONTROL)
        href, latest = resolver.latest(cid)
        if path == "":
            return JSONResponse(_describe(request, ctx, cid, href, latest, versioned=False))
        return serve_file(request, ctx, href, path, LATEST_CACHE_CONTROL)

    file_responses: dict[int | str, dict[str, Any]] = {
        200: {"content": {CHUNK_TYPE: {}, JSON_TYPE: {}}},
        206: {"description": "A byte range of the file"},
        304: {"description": "Not modified (ETag matched)"},
        404: {"description": "No such file (Zarr reads a missing chunk as fill value)"},
    }
    for method, suffix in (("GET", ""), ("HEAD", "Head")):  # one operation id per method
        router.add_api_route(
            "/{cid}",
            root,
            methods=[method],
            summary="Describe a collection's Zarr store",
            operation_id=f"zarrRoot{suffix}",
        )
        router.add_api_route(
            "/{cid}/{path:path}",
            file,
            methods=[method],
            summary="One file of a collection's Zarr store",
            operation_id=f"zarrFile{suffix}",
            response_class=Response,
            responses=file_responses,
        )
    return router


plugin = RouterPlugin(
    name="zarr",
    prefix="/zarr",
    build=build,
    conformance=(),
    description="Zarr v3 over HTTP: open any cube with xarray.open_zarr(url)",
    order=60,
)
